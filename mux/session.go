package mux

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/gitssh/gitssh/keepalive"
	"golang.org/x/crypto/ssh"
)

// Command is one remote command and the streams it runs with.
type Command struct {
	// Line is the remote command line. If empty, a shell is requested.
	Line string
	// Env holds "NAME=value" pairs to forward before the command starts.
	// The server may refuse any of them; that is not an error.
	Env []string
	// Stdin is copied to the command until EOF, which is then passed on. If
	// it has a SetReadDeadline method (a pollable *os.File does), a read
	// still blocked when the command ends is interrupted; otherwise that
	// read is abandoned.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Debugf, if set, receives OpenSSH-style debug lines.
	Debugf func(format string, args ...any)

	// open, if set, opens the session channel in place of
	// c.client.NewSession: the pool opens it itself, so as not to wait on
	// a dead connection (open.go).
	open func() (*ssh.Session, error)
	// mayStart, if set, is asked once the channel is open, before anything
	// is sent on it: false abandons the command, unstarted
	// (errAbandoned), because nobody waits for it any more.
	mayStart func() bool
}

// errAbandoned is a command whose client gave up before it started.
var errAbandoned = errors.New("mux: the client gave up before the command started")

// ErrShellRefused is a server that accepted the login but refused to start
// a shell, as git-only servers do.
var ErrShellRefused = errors.New("mux: server refused to start a shell")

// ExecRefusedError is a server that refused to run a command.
type ExecRefusedError struct{ Line string }

func (e *ExecRefusedError) Error() string {
	return fmt.Sprintf("mux: server refused to run %q", e.Line)
}

// ConnectionLostError is a connection that ended while a command ran.
type ConnectionLostError struct {
	Host string
	Err  error
}

// Error is OpenSSH's message for the same event.
func (e *ConnectionLostError) Error() string {
	if errors.Is(e.Err, keepalive.ErrTimeout) {
		return fmt.Sprintf("Timeout, server %s not responding.", e.Host)
	}
	return fmt.Sprintf("Connection to %s closed by remote host.", e.Host)
}

func (e *ConnectionLostError) Unwrap() error { return e.Err }

// ChannelRefusedError is a server that refused to open a session channel on
// a connection, as sshd past MaxSessions or Bitbucket Cloud past its first
// channel do.
type ChannelRefusedError struct {
	Reason  string // "administratively prohibited", "connect failed", ...
	Message string // the server's own words
}

func (e *ChannelRefusedError) Error() string {
	return fmt.Sprintf("channel open failed: %s: %s", e.Reason, e.Message)
}

// openError marks a failure to open the session channel: nothing ran, so
// the command may be retried on another connection.
type openError struct{ err error }

func (e *openError) Error() string { return fmt.Sprintf("open session: %v", e.err) }
func (e *openError) Unwrap() error { return e.err }

func newOpenError(err error) *openError {
	var refused *ssh.OpenChannelError
	if errors.As(err, &refused) {
		err = &ChannelRefusedError{Reason: refused.Reason.String(), Message: refused.Message}
	}
	return &openError{err}
}

// envRequest is the payload of an "env" channel request (RFC 4254 6.4).
type envRequest struct {
	Name  string
	Value string
}

// ExitStatusLost is the status returned when the remote command's own status
// is unknown: the transport failed, or the command died of a signal. It is
// what OpenSSH's ssh exits with in those cases.
const ExitStatusLost = 255

// runSession runs cmd on a new session channel of c and returns the remote
// exit status once every byte of the command's stdout and stderr has been
// written. An error of type *openError means nothing was started.
func runSession(ctx context.Context, c *conn, cmd Command) (int, error) {
	debugf := cmd.Debugf
	if debugf == nil {
		debugf = func(string, ...any) {}
	}
	open := c.client.NewSession
	if cmd.open != nil {
		open = cmd.open
	}
	s, err := open()
	if err != nil {
		return ExitStatusLost, newOpenError(err)
	}
	defer s.Close()
	if cmd.mayStart != nil && !cmd.mayStart() {
		return ExitStatusLost, errAbandoned
	}
	stdin, err := s.StdinPipe()
	if err != nil {
		return ExitStatusLost, &openError{err}
	}
	stdout, err := s.StdoutPipe()
	if err != nil {
		return ExitStatusLost, &openError{err}
	}
	stderr, err := s.StderrPipe()
	if err != nil {
		return ExitStatusLost, &openError{err}
	}

	// Variables go without want-reply: waiting would cost a round trip
	// each, and a refusal (sshd's AcceptEnv) is no reason to fail.
	for _, kv := range cmd.Env {
		name, value, _ := strings.Cut(kv, "=")
		debugf("Sending env %s = %s", name, value)
		if _, err := s.SendRequest("env", false, ssh.Marshal(envRequest{name, value})); err != nil {
			return ExitStatusLost, &openError{err}
		}
	}

	if cmd.Line == "" {
		debugf("Requesting shell.")
		err = s.Shell()
	} else {
		debugf("Sending command: %s", cmd.Line)
		err = s.Start(cmd.Line)
	}
	if err != nil {
		if !c.alive() {
			return ExitStatusLost, &ConnectionLostError{Host: c.host, Err: err}
		}
		if cmd.Line == "" {
			return ExitStatusLost, ErrShellRefused
		}
		return ExitStatusLost, &ExecRefusedError{Line: cmd.Line}
	}

	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()

	var out sync.WaitGroup
	out.Add(2)
	copyErrs := make(chan error, 2)
	go func() {
		defer out.Done()
		if _, err := io.Copy(cmd.Stdout, stdout); err != nil {
			copyErrs <- fmt.Errorf("write stdout: %w", err)
		}
	}()
	go func() {
		defer out.Done()
		if _, err := io.Copy(cmd.Stderr, stderr); err != nil {
			copyErrs <- fmt.Errorf("write stderr: %w", err)
		}
	}()
	in := copyStdin(stdin, cmd.Stdin)

	out.Wait()
	waitErr := s.Wait()
	in.stop()
	close(copyErrs)

	if ctx.Err() != nil {
		return ExitStatusLost, ctx.Err()
	}
	status, err := exitStatus(waitErr, debugf)
	if errors.As(err, new(*ssh.ExitMissingError)) {
		if lost := c.lostWithin(100 * time.Millisecond); lost {
			return ExitStatusLost, &ConnectionLostError{Host: c.host, Err: c.err}
		}
		debugf("remote command exited without exit status")
		return ExitStatusLost, nil
	}
	if err != nil {
		return status, err
	}
	if copyErr := <-copyErrs; copyErr != nil {
		return status, copyErr
	}
	return status, nil
}

// lostWithin reports whether the connection ends within d. A channel closed
// without an exit status is either a server's choice or the first sign of a
// dead connection; the connection's own end follows within microseconds.
func (c *conn) lostWithin(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.done:
		return true
	case <-t.C:
		return false
	}
}

// exitStatus turns Session.Wait's result into an exit status, as OpenSSH's
// ssh does: the remote status, or 255 when the command died of a signal.
func exitStatus(waitErr error, debugf func(string, ...any)) (int, error) {
	var exitErr *ssh.ExitError
	switch {
	case waitErr == nil:
		return 0, nil
	case errors.As(waitErr, &exitErr):
		if exitErr.Signal() != "" {
			debugf("remote command killed by signal %s", exitErr.Signal())
			return ExitStatusLost, nil
		}
		return exitErr.ExitStatus(), nil
	default:
		return ExitStatusLost, waitErr
	}
}

// stdinCopy copies the command's stdin to the channel and passes EOF on.
type stdinCopy struct {
	src  io.Reader
	done chan struct{}
}

func copyStdin(dst io.WriteCloser, src io.Reader) *stdinCopy {
	in := &stdinCopy{src: src, done: make(chan struct{})}
	go func() {
		defer close(in.done)
		if src != nil {
			io.Copy(dst, src)
		}
		dst.Close() // EOF to the remote command
	}()
	return in
}

// stop interrupts a read still blocked on stdin, where the reader allows it,
// and waits for the copy to end; a reader that cannot be interrupted is left
// to its goroutine, which ends at the reader's next EOF or error.
func (in *stdinCopy) stop() {
	d, ok := in.src.(interface{ SetReadDeadline(time.Time) error })
	if !ok || d.SetReadDeadline(time.Unix(1, 0)) != nil {
		return
	}
	<-in.done
}
