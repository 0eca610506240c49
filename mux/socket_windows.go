package mux

// The Windows control endpoint, for the relay transport: a named pipe
// (go-winio) in place of the Unix socket. Windows cannot pass descriptors,
// so a client relays its stdio bytes over this connection instead.
//
// These three are the Windows side of the control seam: listenControl,
// dialControl and checkPeer (socket_unix.go has the Unix side).
//
// The pipe is \\.\pipe\gitssh-<hash of the control socket path> (pipeName):
// no file is made at the socket path. Its security descriptor admits the
// user's SID only (pipeSDDL), it refuses remote clients, and each side
// checks that the other end runs as the same user before a byte is read:
// the master through GetNamedPipeClientProcessId, the client through
// GetNamedPipeServerProcessId, each followed by the process's token user.
// A pipe disappears with the last handle of the process that made it, so
// there is no stale endpoint to probe and remove as on Unix.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// errPipePeerUser is a control pipe peer that runs as another user.
var errPipePeerUser = errors.New("mux: control pipe peer is another user")

// pipeBufferSize is the pipe's buffer in each direction: the relay's
// frames are copied through it.
const pipeBufferSize = 64 << 10

// pipeDialTimeout bounds how long a client waits for a free pipe instance.
// The pipe has no accept backlog: while the master has not yet made the
// next instance, a client's open fails with ERROR_PIPE_BUSY, which go-winio
// retries every 10ms. A burst of 32 clients waits a few of those; a master
// that stays busy this long is taken as unavailable.
const pipeDialTimeout = 5 * time.Second

// listenControl listens on the control pipe for the socket path. A pipe of
// that name already there is a live master's (ErrMasterRunning); the first
// instance is made with FILE_CREATE, so a master never joins a pipe it did
// not make.
func listenControl(path string) (net.Listener, error) {
	user, err := currentUserSID()
	if err != nil {
		return nil, fmt.Errorf("mux: control pipe: %w", err)
	}
	sddl, err := pipeSDDL(user)
	if err != nil {
		return nil, err
	}
	name := pipeName(path)
	ln, err := winio.ListenPipe(name, &winio.PipeConfig{
		SecurityDescriptor: sddl,
		InputBufferSize:    pipeBufferSize,
		OutputBufferSize:   pipeBufferSize,
	})
	switch {
	case errors.Is(err, windows.ERROR_ALREADY_EXISTS), errors.Is(err, windows.ERROR_PIPE_BUSY):
		return nil, ErrMasterRunning
	case err != nil:
		return nil, fmt.Errorf("mux: listen on control pipe %s: %w", name, err)
	}
	return ln, nil
}

// dialControl connects to the master's control pipe for the socket path and
// checks that the master runs as the same user as this process. The master
// cannot impersonate the client (go-winio opens the pipe at the anonymous
// impersonation level).
func dialControl(ctx context.Context, path string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, pipeDialTimeout)
	defer cancel()
	c, err := winio.DialPipeContext(ctx, pipeName(path))
	if err != nil {
		return nil, fmt.Errorf("mux: control pipe: %w", err)
	}
	pid, err := pipePeerPID(c, windows.GetNamedPipeServerProcessId)
	if err == nil {
		err = sameUser(pid)
	}
	if errors.Is(err, errPipePeerUser) {
		c.Close()
		return nil, fmt.Errorf("%w: master at %s: %w", ErrUnsafeControlDir, path, err)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("mux: control pipe: %w", err)
	}
	return c, nil
}

// checkPeer returns nil when the client at the other end of c, a
// connection accepted on listenControl's listener, runs as the same user as
// this process. The master calls it before reading a byte.
func checkPeer(c net.Conn) error {
	pid, err := pipePeerPID(c, windows.GetNamedPipeClientProcessId)
	if err != nil {
		return err
	}
	return sameUser(pid)
}

// pipePeerPID asks Windows for the process at the other end of a pipe
// connection, with GetNamedPipeClientProcessId or ...ServerProcessId.
// go-winio's pipe connections expose their handle as Fd.
func pipePeerPID(c net.Conn, get func(windows.Handle, *uint32) error) (uint32, error) {
	f, ok := c.(interface{ Fd() uintptr })
	if !ok {
		return 0, fmt.Errorf("peer of %T: %w", c, ErrNotImplemented)
	}
	var pid uint32
	if err := get(windows.Handle(f.Fd()), &pid); err != nil {
		return 0, fmt.Errorf("pipe peer process: %w", err)
	}
	return pid, nil
}

// sameUser returns nil when process pid runs as this process's user, and
// an errPipePeerUser when it runs as another. The pipe's DACL already
// keeps other users out; this is the check the Unix master makes with
// SO_PEERCRED. A process that cannot be opened (one of an elevated session
// seen from an unelevated one) fails the check.
func sameUser(pid uint32) error {
	user, err := currentUserSID()
	if err != nil {
		return err
	}
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return fmt.Errorf("open peer process %d: %w", pid, err)
	}
	defer windows.CloseHandle(h)
	var tok windows.Token
	if err := windows.OpenProcessToken(h, windows.TOKEN_QUERY, &tok); err != nil {
		return fmt.Errorf("token of peer process %d: %w", pid, err)
	}
	defer tok.Close()
	tu, err := tok.GetTokenUser()
	if err != nil {
		return fmt.Errorf("user of peer process %d: %w", pid, err)
	}
	if theirs := tu.User.Sid.String(); theirs != user {
		return fmt.Errorf("%w: process %d runs as %s, not %s", errPipePeerUser, pid, theirs, user)
	}
	return nil
}

// MasterSupported is nil: the pipe's client process is checked instead of
// peer credentials.
func MasterSupported() error { return nil }
