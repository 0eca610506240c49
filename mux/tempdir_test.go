//go:build unix

package mux

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestControlDirPathTempDir: the per-user temporary directory (macOS's
// $TMPDIR) is used when there is no runtime directory, if the socket path
// in it fits; otherwise /tmp/gitssh-UID.
func TestControlDirPathTempDir(t *testing.T) {
	// Short directories: macOS's t.TempDir() is too long for a socket.
	rt := shortTempDir(t)
	td := shortTempDir(t)
	long := filepath.Join(shortTempDir(t), strings.Repeat("d", maxSocketPath-len("/gitssh/"+socketName)))
	if err := os.MkdirAll(long, 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts ControlDirOptions
		want string
	}{
		{name: "temp dir", opts: ControlDirOptions{TempDir: td, UID: 501}, want: filepath.Join(td, "gitssh")},
		{name: "runtime dir wins", opts: ControlDirOptions{RuntimeDir: rt, TempDir: td, UID: 501}, want: filepath.Join(rt, "gitssh")},
		{name: "missing runtime dir", opts: ControlDirOptions{RuntimeDir: filepath.Join(rt, "missing"), TempDir: td, UID: 501}, want: filepath.Join(td, "gitssh")},
		{name: "relative temp dir ignored", opts: ControlDirOptions{TempDir: "tmp", UID: 501}, want: "/tmp/gitssh-501"},
		{name: "missing temp dir ignored", opts: ControlDirOptions{TempDir: filepath.Join(td, "missing"), UID: 501}, want: "/tmp/gitssh-501"},
		{name: "temp dir too long for the socket", opts: ControlDirOptions{TempDir: long, UID: 501}, want: "/tmp/gitssh-501"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := controlDirPath(tt.opts)
			if err != nil || got != tt.want {
				t.Errorf("controlDirPath(%+v) = %q, %v; want %q", tt.opts, got, err, tt.want)
			}
		})
	}
}
