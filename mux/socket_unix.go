//go:build unix

package mux

// The Unix side of the control socket: listening with a stale-socket
// probe, dialling, checking the peer's uid, and the private directory.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"runtime"
	"syscall"
)

// listenControl listens on the control socket at path, mode 0600, and
// unlinks it when closed. If a socket file is already there it dials it:
// a live master makes it fail with ErrMasterRunning; a socket nobody
// listens on (a master that died) or a file that is not a socket is
// removed and replaced. The directory must be private (ControlDir), and
// callers racing to start a master should hold a lock: the probe and the
// removal are not atomic.
func listenControl(path string) (net.Listener, error) {
	if err := checkSocketPath(path); err != nil {
		return nil, err
	}
	ln, err := listenUnix(path)
	if err == nil {
		return ln, nil
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		return nil, err
	}

	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// Gone since the bind: listen below.
	case err != nil:
		return nil, fmt.Errorf("mux: control socket: %w", err)
	case fi.IsDir():
		return nil, fmt.Errorf("mux: control socket %s is a directory", path)
	case fi.Mode()&fs.ModeSocket != 0:
		if err := probe(path); err != nil {
			return nil, err
		}
		fallthrough
	default:
		// Remove only the file that was probed, not one a master that
		// started meanwhile put there.
		if now, err := os.Lstat(path); err == nil && os.SameFile(fi, now) {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("mux: remove stale control socket: %w", err)
			}
		}
	}
	ln, err = listenUnix(path)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, ErrMasterRunning // another master won the race
	}
	if err != nil {
		return nil, err
	}
	return ln, nil
}

// probe dials the socket at path: nil means nobody listens there.
func probe(path string) error {
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	switch {
	case err == nil:
		c.Close()
		return ErrMasterRunning
	case errors.Is(err, syscall.ECONNREFUSED):
		return nil
	case errors.Is(err, syscall.EAGAIN):
		return ErrMasterRunning // listening, with a full backlog
	default:
		return fmt.Errorf("mux: probe control socket: %w", err)
	}
}

func listenUnix(path string) (*net.UnixListener, error) {
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("mux: listen on control socket: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("mux: control socket: %w", err)
	}
	return ln, nil
}

// dialControl connects to the master's control socket at path and checks
// that the master runs as the same user as this process.
func dialControl(ctx context.Context, path string) (net.Conn, error) {
	if err := checkSocketPath(path); err != nil {
		return nil, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("mux: control socket: %w", err)
	}
	if err := checkPeer(c); err != nil {
		c.Close()
		return nil, fmt.Errorf("mux: control socket %s: %w", path, err)
	}
	return c, nil
}

// checkPeer checks that the process at the other end of c runs as this
// process's user, as the kernel recorded it when the connection was made.
func checkPeer(c net.Conn) error {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return fmt.Errorf("%w: peer of a %T", ErrNotImplemented, c)
	}
	uid, err := peerUID(uc)
	if err != nil {
		return err
	}
	if me := os.Getuid(); uid != me {
		return fmt.Errorf("%w: peer runs as uid %d, not %d", ErrUnsafeControlDir, uid, me)
	}
	return nil
}

// MasterSupported reports whether a master can serve clients on this
// system: it must be able to tell who connects (peer credentials). Where it
// cannot, it would refuse every client, so none should be started.
func MasterSupported() error {
	if !peerCredsSupported {
		return fmt.Errorf("peer credentials on %s: %w", runtime.GOOS, ErrNotImplemented)
	}
	return nil
}
