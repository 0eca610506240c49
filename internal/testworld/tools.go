package testworld

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// TB is the part of testing.TB that [RequireTools] uses. *testing.T and
// *testing.B satisfy it.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
}

// sbinDirs are searched after $PATH: on Debian an ordinary user's PATH
// does not contain the directories that hold sshd and haproxy.
var sbinDirs = []string{"/usr/sbin", "/usr/local/sbin", "/sbin"}

// LookTool returns the absolute path of the named program, searching $PATH
// and then the sbin directories. sshd is looked up in the sbin directories
// first, because sshd must be started by its absolute path and a stray
// sshd earlier in $PATH is unlikely to be the system's.
func LookTool(name string) (string, error) {
	if name == "sshd" {
		for _, dir := range sbinDirs {
			if p := filepath.Join(dir, name); isExecutable(p) {
				return p, nil
			}
		}
	}
	p, err := exec.LookPath(name)
	if err == nil {
		return filepath.Abs(p)
	}
	for _, dir := range sbinDirs {
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p, nil
		}
	}
	return "", err
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// MissingTools returns the names among names that [LookTool] cannot find.
func MissingTools(names ...string) []string {
	var missing []string
	for _, name := range names {
		if _, err := LookTool(name); err != nil {
			missing = append(missing, name)
		}
	}
	return missing
}

// Strict reports whether a missing tool must fail the tests instead of
// skipping them: when $CI is set (to anything but "false" or "0") or
// $GITSSH_E2E is "1". A silent skip in CI is a defect.
func Strict() bool {
	switch ci := os.Getenv("CI"); strings.ToLower(ci) {
	case "", "0", "false":
	default:
		return true
	}
	return os.Getenv("GITSSH_E2E") == "1"
}

// RequireTools checks that every named program (for example "sshd", "git",
// "ssh-keygen", "ssh-agent", "haproxy") can be found. If one is missing it
// calls t.Fatalf when [Strict] reports true and t.Skipf otherwise.
func RequireTools(t TB, names ...string) {
	t.Helper()
	missing := MissingTools(names...)
	if len(missing) == 0 {
		return
	}
	const hint = "install them (scripts/test does) or run on a machine that has them"
	if Strict() {
		t.Fatalf("testworld: missing %s; CI or GITSSH_E2E=1 is set, so this is a failure: %s", strings.Join(missing, ", "), hint)
		return
	}
	t.Skipf("testworld: missing %s; skipping (set CI or GITSSH_E2E=1 to make this a failure)", strings.Join(missing, ", "))
}
