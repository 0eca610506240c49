package config

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// world is a test user: a home directory with .ssh, a system configuration
// path (not created unless written), and a fixed local identity.
type world struct {
	t    *testing.T
	home string
	etc  string
	vars map[string]string
	env  Env
}

func newWorld(t *testing.T) *world {
	t.Helper()
	home := t.TempDir()
	etc := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, home: home, etc: etc, vars: map[string]string{}}
	w.env = Env{
		Home:         home,
		LocalUser:    "alice",
		LocalHost:    "laptop.example.org",
		UID:          1000,
		SystemConfig: filepath.Join(etc, "ssh_config"),
		Getenv:       func(k string) string { return w.vars[k] },
	}
	return w
}

// write writes a file; a relative name is under the home directory.
func (w *world) write(name, content string) string {
	w.t.Helper()
	if !filepath.IsAbs(name) {
		name = filepath.Join(w.home, name)
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		w.t.Fatal(err)
	}
	return name
}

// userConfig writes ~/.ssh/config.
func (w *world) userConfig(content string) string { return w.write(".ssh/config", content) }

// systemConfig writes the system file.
func (w *world) systemConfig(content string) string {
	return w.write(w.env.SystemConfig, content)
}

// resolve resolves req and fails the test on error.
func (w *world) resolve(req Request) Destination {
	w.t.Helper()
	d, err := Resolve(req, w.env)
	if err != nil {
		w.t.Fatalf("Resolve(%+v) = %v, want no error", req, err)
	}
	return d
}

// dest is a Request for a destination with -o options.
func dest(destination string, opts ...string) Request {
	return Request{Destination: destination, Options: opts}
}

// hasNote reports whether a note contains all of parts.
func hasNote(notes []string, parts ...string) bool {
	for _, n := range notes {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(n, p)
		}
		if ok {
			return true
		}
	}
	return false
}

// memFS is an in-memory fileSystem for fuzzing.
type memFS map[string]string

func (m memFS) ReadFile(name string) ([]byte, error) {
	s, ok := m[name]
	if !ok {
		return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrNotExist}
	}
	return []byte(s), nil
}

func (m memFS) Glob(pattern string) ([]string, error) {
	if _, err := filepath.Match(pattern, ""); err != nil {
		return nil, err
	}
	var out []string
	for name := range m {
		if ok, _ := filepath.Match(pattern, name); ok {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// configError returns the message of err if it is an *Error.
func configError(t *testing.T, err error) string {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *config.Error", err, err)
	}
	return ce.Error()
}
