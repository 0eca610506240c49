//go:build unix

package mux

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// shortTempDir returns a fresh directory under /tmp: t.TempDir() paths can
// be too long for a socket address.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "gs")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestControlDirPath(t *testing.T) {
	rt := t.TempDir()
	file := filepath.Join(rt, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		opts    ControlDirOptions
		want    string
		wantErr bool
	}{
		{name: "override wins", opts: ControlDirOptions{Override: "/x/y/", RuntimeDir: rt, UID: 5}, want: "/x/y"},
		{name: "relative override", opts: ControlDirOptions{Override: "x/y"}, wantErr: true},
		{name: "runtime dir", opts: ControlDirOptions{RuntimeDir: rt, UID: 5}, want: filepath.Join(rt, "gitssh")},
		{name: "relative runtime dir ignored", opts: ControlDirOptions{RuntimeDir: "run/user/5", UID: 5}, want: "/tmp/gitssh-5"},
		{name: "missing runtime dir ignored", opts: ControlDirOptions{RuntimeDir: filepath.Join(rt, "missing"), UID: 5}, want: "/tmp/gitssh-5"},
		{name: "runtime dir not a directory", opts: ControlDirOptions{RuntimeDir: file, UID: 5}, want: "/tmp/gitssh-5"},
		{name: "neither", opts: ControlDirOptions{UID: 1000}, want: "/tmp/gitssh-1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := controlDirPath(tt.opts)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("controlDirPath(%+v) = %q, %v; want %q, error %v", tt.opts, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestControlDir(t *testing.T) {
	uid := os.Getuid()
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string) // makes what is at dir
		other   bool                           // the user is someone other than the owner
		wantErr error
	}{
		{name: "missing: made 0700", setup: func(*testing.T, string) {}},
		{name: "existing 0700", setup: mkdir(0o700)},
		{name: "mode 0755", setup: mkdir(0o755), wantErr: ErrUnsafeControlDir},
		{name: "mode 0710", setup: mkdir(0o710), wantErr: ErrUnsafeControlDir},
		{name: "mode 0500", setup: mkdir(0o500), wantErr: ErrUnsafeControlDir},
		{name: "sticky", setup: func(t *testing.T, dir string) {
			mkdir(0o700)(t, dir)
			chmod(t, dir, 0o700|fs.ModeSticky)
		}, wantErr: ErrUnsafeControlDir},
		{name: "symlink to a good dir", setup: func(t *testing.T, dir string) {
			target := dir + ".target"
			mkdir(0o700)(t, target)
			if err := os.Symlink(target, dir); err != nil {
				t.Fatal(err)
			}
		}, wantErr: ErrUnsafeControlDir},
		{name: "a file", setup: func(t *testing.T, dir string) {
			if err := os.WriteFile(dir, nil, 0o700); err != nil {
				t.Fatal(err)
			}
		}, wantErr: ErrUnsafeControlDir},
		// The directory is the test's; the user asking is another uid.
		{name: "owned by someone else", setup: mkdir(0o700), other: true, wantErr: ErrUnsafeControlDir},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(shortTempDir(t), "ctl")
			tt.setup(t, dir)
			user := uid
			if tt.other {
				user = uid + 1
			}
			got, err := ControlDir(ControlDirOptions{Override: dir, UID: user})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ControlDir() = %q, %v; want error %v", got, err, tt.wantErr)
			}
			if err != nil {
				t.Logf("error: %v", err)
				return
			}
			if got != dir {
				t.Errorf("ControlDir() = %q, want %q", got, dir)
			}
			fi, err := os.Lstat(dir)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != fs.ModeDir|0o700 {
				t.Errorf("mode = %v, want %v", fi.Mode(), fs.ModeDir|0o700)
			}
		})
	}
}

func TestControlDirUmask(t *testing.T) {
	old := syscall.Umask(0o277) // would leave the directory 0500
	defer syscall.Umask(old)
	dir := filepath.Join(shortTempDir(t), "ctl")
	if _, err := ControlDir(ControlDirOptions{Override: dir, UID: os.Getuid()}); err != nil {
		t.Fatalf("ControlDir() with umask 0277: %v", err)
	}
}

func TestControlDirMakesParents(t *testing.T) {
	dir := filepath.Join(shortTempDir(t), "a", "b", "ctl")
	if _, err := ControlDir(ControlDirOptions{Override: dir, UID: os.Getuid()}); err != nil {
		t.Fatalf("ControlDir(%q): %v", dir, err)
	}
}

func TestControlDirRuntimeDir(t *testing.T) {
	rt := shortTempDir(t)
	got, err := ControlDir(ControlDirOptions{RuntimeDir: rt, UID: os.Getuid()})
	if want := filepath.Join(rt, "gitssh"); err != nil || got != want {
		t.Errorf("ControlDir() = %q, %v; want %q", got, err, want)
	}
}

func TestControlDirTooLong(t *testing.T) {
	dir := "/tmp/" + strings.Repeat("d", maxSocketPath-len("/tmp/")-len("/"+socketName)+1)
	if _, err := ControlDir(ControlDirOptions{Override: dir, UID: os.Getuid()}); !errors.Is(err, ErrSocketPathTooLong) {
		t.Errorf("ControlDir(%d-byte dir) error = %v, want %v", len(dir), err, ErrSocketPathTooLong)
	}
	if _, err := os.Lstat(dir); !errors.Is(err, fs.ErrNotExist) {
		os.Remove(dir)
		t.Errorf("ControlDir made %s although it failed", dir)
	}
	ok := dir[:len(dir)-1]
	if p, err := socketPath(ok); err != nil || len(p) != maxSocketPath {
		t.Errorf("socketPath(%d-byte dir) = %d bytes, %v; want %d, nil", len(ok), len(p), err, maxSocketPath)
	}
}

func mkdir(perm fs.FileMode) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		t.Helper()
		if err := os.Mkdir(dir, perm); err != nil {
			t.Fatal(err)
		}
		chmod(t, dir, perm)
		// Let t.TempDir's cleanup remove it whatever its mode.
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
	}
}

func chmod(t *testing.T, path string, mode fs.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// errAny stands for any error in a table.
var errAny = errors.New("any error")

func TestListenControl(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, path string)
		wantErr error
	}{
		{name: "nothing there", setup: func(*testing.T, string) {}},
		{name: "stale socket", setup: func(t *testing.T, path string) {
			ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
			if err != nil {
				t.Fatal(err)
			}
			ln.SetUnlinkOnClose(false)
			ln.Close() // a master that died: the file stays, nobody listens
		}},
		{name: "regular file", setup: func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "dangling symlink", setup: func(t *testing.T, path string) {
			if err := os.Symlink(path+".nowhere", path); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "live master", setup: func(t *testing.T, path string) {
			ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
		}, wantErr: ErrMasterRunning},
		{name: "directory", setup: func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}, wantErr: errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(shortTempDir(t), socketName)
			tt.setup(t, path)
			before, _ := os.Lstat(path)
			ln, err := listenControl(path)
			if tt.wantErr == errAny && err != nil {
				t.Logf("error: %v", err)
			} else if !errors.Is(err, tt.wantErr) {
				t.Fatalf("listenControl() error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if ln != nil {
					t.Error("listenControl() returned a listener with an error")
				}
				// What was there is left alone.
				if after, err := os.Lstat(path); err != nil || !os.SameFile(before, after) {
					t.Errorf("listenControl() replaced %s after failing", path)
				}
				return
			}
			fi, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
				t.Errorf("socket mode = %v, want a socket with mode 0600", fi.Mode())
			}
			// It answers.
			c, err := dialControl(context.Background(), path)
			if err != nil {
				t.Fatalf("dialControl() = %v", err)
			}
			c.Close()
			// Closing unlinks it.
			ln.Close()
			if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("socket still there after Close: %v", err)
			}
		})
	}
}

func TestListenControlTooLong(t *testing.T) {
	path := "/tmp/" + strings.Repeat("s", maxSocketPath)
	if _, err := listenControl(path); !errors.Is(err, ErrSocketPathTooLong) {
		t.Errorf("listenControl(long) error = %v, want %v", err, ErrSocketPathTooLong)
	}
	if _, err := dialControl(context.Background(), path); !errors.Is(err, ErrSocketPathTooLong) {
		t.Errorf("dialControl(long) error = %v, want %v", err, ErrSocketPathTooLong)
	}
}

func TestDialControl(t *testing.T) {
	dir := shortTempDir(t)
	path := filepath.Join(dir, socketName)
	if _, err := dialControl(context.Background(), path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dialControl(missing) error = %v, want %v", err, fs.ErrNotExist)
	}

	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if _, err := dialControl(context.Background(), stale); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dialControl(stale) error = %v, want %v", err, syscall.ECONNREFUSED)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := dialControl(ctx, path); err == nil {
		t.Error("dialControl(canceled) succeeded")
	}
}

// TestPeerUID checks both ends of a real control connection.
func TestPeerUID(t *testing.T) {
	path := filepath.Join(shortTempDir(t), socketName)
	ln, err := listenControl(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		uid int
		err error
	}
	accepted := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- result{-1, err}
			return
		}
		defer c.Close()
		uid, err := peerUID(c.(*net.UnixConn))
		accepted <- result{uid, err}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := dialControl(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if uid, err := peerUID(c.(*net.UnixConn)); err != nil || uid != os.Getuid() {
		t.Errorf("client: peerUID() = %d, %v; want %d", uid, err, os.Getuid())
	}
	r := <-accepted
	if r.err != nil || r.uid != os.Getuid() {
		t.Errorf("master: peerUID() = %d, %v; want %d", r.uid, r.err, os.Getuid())
	}
}

func TestPeerUIDSocketpair(t *testing.T) {
	a, _ := connPair(t)
	if uid, err := peerUID(a); err != nil || uid != os.Getuid() {
		t.Errorf("peerUID() = %d, %v; want %d", uid, err, os.Getuid())
	}
}
