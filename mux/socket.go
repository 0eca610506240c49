package mux

// The control socket: the private directory it lives in, listening with a
// stale-socket probe, and dialling.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

var (
	// ErrMasterRunning is a live master already listening on the socket.
	ErrMasterRunning = errors.New("mux: a master is already running")
	// ErrUnsafeControlDir is a control directory that someone other than
	// the user could enter or replace.
	ErrUnsafeControlDir = errors.New("mux: unsafe control directory")
	// ErrSocketPathTooLong is a control socket path that does not fit in
	// a Unix socket address.
	ErrSocketPathTooLong = errors.New("mux: control socket path too long")
	// ErrNotImplemented is a feature this platform lacks.
	ErrNotImplemented = errors.New("mux: not implemented on this platform")
)

// socketName is the control socket's name in the control directory.
const socketName = "master.sock"

// maxSocketPath is the longest socket path, in bytes: sun_path is 104 bytes
// on macOS and the BSDs (108 on Linux) and holds a terminating NUL. The
// smallest is used everywhere, so a directory that works on one system
// works on all.
const maxSocketPath = 103

// probeTimeout bounds the dial that tells a live master from a stale
// socket file.
const probeTimeout = 2 * time.Second

// ControlDirOptions says where the control directory is.
type ControlDirOptions struct {
	// Override is the directory to use ($GITSSH_CONTROL_DIR). It must be
	// absolute; missing parents are made. If empty, RuntimeDir decides.
	Override string
	// RuntimeDir is the user's runtime directory ($XDG_RUNTIME_DIR; on
	// Windows %LOCALAPPDATA%). If it is an existing absolute directory,
	// <RuntimeDir>/gitssh is used; otherwise TempDir decides.
	RuntimeDir string
	// TempDir is a temporary directory of the user's own ($TMPDIR on
	// macOS, a per-user directory under /var/folders). If it is an
	// existing absolute directory and <TempDir>/gitssh leaves room for the
	// socket's name (ErrSocketPathTooLong), that is used; otherwise
	// /tmp/gitssh-<UID>. Leave it empty where $TMPDIR may be shared by
	// every user, as /tmp often is on Linux: another user could make the
	// directory first.
	TempDir string
	// UID is the user who must own the directory: os.Getuid() in
	// production. Zero is root.
	UID int
}

// ControlDir returns the control directory, making it if needed. The
// directory must be the user's own: a real directory (not a symbolic
// link), owned by UID, with mode exactly 0700. Anything else is an
// ErrUnsafeControlDir: a directory others can enter or replace could hand
// the user's git commands to someone else's master. It also checks that
// the socket path fits (ErrSocketPathTooLong).
func ControlDir(opts ControlDirOptions) (string, error) {
	dir, err := controlDirPath(opts)
	if err != nil {
		return "", err
	}
	if _, err := socketPath(dir); err != nil {
		return "", err
	}
	if opts.Override != "" {
		if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
			return "", fmt.Errorf("mux: control directory: %w", err)
		}
	}
	if err := privateDir(dir, opts.UID); err != nil {
		return "", err
	}
	return dir, nil
}

// controlDirPath chooses the control directory without touching it.
func controlDirPath(opts ControlDirOptions) (string, error) {
	if opts.Override != "" {
		if !filepath.IsAbs(opts.Override) {
			return "", fmt.Errorf("mux: control directory %q is not an absolute path", opts.Override)
		}
		return filepath.Clean(opts.Override), nil
	}
	// The XDG spec says to ignore a relative XDG_RUNTIME_DIR; a missing
	// one (after su, say) is no use either.
	if rt := opts.RuntimeDir; rt != "" && filepath.IsAbs(rt) {
		if fi, err := os.Stat(rt); err == nil && fi.IsDir() {
			return filepath.Join(rt, "gitssh"), nil
		}
	}
	if td := opts.TempDir; td != "" && filepath.IsAbs(td) {
		dir := filepath.Join(td, "gitssh")
		if fi, err := os.Stat(td); err == nil && fi.IsDir() && checkSocketPath(SocketPath(dir)) == nil {
			return dir, nil
		}
	}
	return filepath.Join("/tmp", "gitssh-"+strconv.Itoa(opts.UID)), nil
}

// socketPath returns the control socket's path in dir.
// SocketPath is the control socket in a directory made by ControlDir.
func SocketPath(dir string) string { return filepath.Join(dir, socketName) }

func socketPath(dir string) (string, error) {
	path := filepath.Join(dir, socketName)
	return path, checkSocketPath(path)
}

func checkSocketPath(path string) error {
	if len(path) > maxSocketPath {
		return fmt.Errorf("%w: %s is %d bytes, the limit is %d", ErrSocketPathTooLong, path, len(path), maxSocketPath)
	}
	return nil
}
