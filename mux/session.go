package mux

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
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

// notDeliveredError is a connection that ended before anything of the
// command crossed it: no byte arrived on the command's channel and no byte of
// its stdin was written to the channel. Nothing happened that git could
// observe, so the pool runs the command again on another connection, as an
// HTTP client resends a request on a reused keep-alive connection that the
// server closed. A command that exchanged a byte is never run twice: that is
// a plain *ConnectionLostError. So is one whose connection a keepalive
// verdict ended (the link died; the command may still run on the server),
// or that ended more than notDeliveredWindow after the exec was answered.
//
// held is what was read from the command's stdin but never reached the
// channel; the next attempt sends it first. The error unwraps to the
// *ConnectionLostError, which is what a caller that does not retry reports.
type notDeliveredError struct {
	lost *ConnectionLostError
	held []byte
}

func (e *notDeliveredError) Error() string { return e.lost.Error() }
func (e *notDeliveredError) Unwrap() error { return e.lost }

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
// written. An error of type *openError means nothing was started; one of
// type *notDeliveredError means the connection ended before a byte crossed
// it either way.
//
// Stdin is read only once the exec has succeeded, so that a command the
// server never started has consumed nothing of it.
func runSession(ctx context.Context, c *conn, cmd Command) (int, error) {
	debugf := cmd.Debugf
	if debugf == nil {
		debugf = func(string, ...any) {}
	}
	s, pipes, err := startSession(c, cmd, debugf)
	if err != nil {
		return ExitStatusLost, err
	}
	defer s.Close()
	started := time.Now()
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()

	// Everything that arrives on the channel is a sign of life of the
	// command, for the channel keepalive, and a byte git may have seen.
	recv := keepalive.NewChannel(c.channelKeepalive)
	var out sync.WaitGroup
	copyErrs := make(chan error, 2)
	copyOut := func(dst io.Writer, src io.Reader, name string) {
		out.Go(func() {
			if _, err := io.Copy(dst, recv.WrapReader(src)); err != nil {
				copyErrs <- fmt.Errorf("write %s: %w", name, err)
			}
		})
	}
	copyOut(cmd.Stdout, pipes.stdout, "stdout")
	copyOut(cmd.Stderr, pipes.stderr, "stderr")
	in := copyStdin(pipes.stdin, cmd.Stdin)
	kaCtx, stopKeepalive := context.WithCancel(context.Background())
	var ka sync.WaitGroup
	ka.Go(func() { recv.Run(kaCtx, s) })

	out.Wait()
	waitErr := s.Wait()
	// The channel has closed: a keepalive in flight has its answer.
	stopKeepalive()
	ka.Wait()
	if n := recv.Sent(); n > 0 {
		debugf("sent %d channel keepalives", n)
	}
	stdinStopped := in.stop()
	close(copyErrs)

	if ctx.Err() != nil {
		return ExitStatusLost, ctx.Err()
	}
	status, err := exitStatus(waitErr, debugf)
	if errors.As(err, new(*ssh.ExitMissingError)) {
		crossed := !stdinStopped || in.written.Load() > 0 || recv.Received() > 0
		return ExitStatusLost, c.endedWithoutStatus(started, crossed, in.held, debugf)
	}
	if err != nil {
		return status, err
	}
	if copyErr := <-copyErrs; copyErr != nil {
		return status, copyErr
	}
	return status, nil
}

// sessionPipes are a started session's standard streams.
type sessionPipes struct {
	stdin          io.WriteCloser
	stdout, stderr io.Reader
}

// startSession opens cmd's session channel on c (or takes the one cmd.open
// gives), sends its environment and its exec (or shell) request, and
// returns the session once the server has accepted that. Every error means
// nothing was started: an *openError, errAbandoned, a *notDeliveredError,
// ErrShellRefused or an *ExecRefusedError.
func startSession(c *conn, cmd Command, debugf func(string, ...any)) (*ssh.Session, sessionPipes, error) {
	open := c.newSession
	if cmd.open != nil {
		open = cmd.open
	}
	s, err := open()
	if err != nil {
		return nil, sessionPipes{}, newOpenError(err)
	}
	pipes, err := sessionRequests(c, s, cmd, debugf)
	if err != nil {
		s.Close()
		return nil, sessionPipes{}, err
	}
	return s, pipes, nil
}

// sessionRequests is startSession's work on the open channel s.
func sessionRequests(c *conn, s *ssh.Session, cmd Command, debugf func(string, ...any)) (sessionPipes, error) {
	if cmd.mayStart != nil && !cmd.mayStart() {
		return sessionPipes{}, errAbandoned
	}
	var p sessionPipes
	var errIn, errOut, errErr error
	p.stdin, errIn = s.StdinPipe()
	p.stdout, errOut = s.StdoutPipe()
	p.stderr, errErr = s.StderrPipe()
	if err := errors.Join(errIn, errOut, errErr); err != nil {
		return sessionPipes{}, &openError{err}
	}

	// Variables go without want-reply: waiting would cost a round trip
	// each, and a refusal (sshd's AcceptEnv) is no reason to fail.
	for _, kv := range cmd.Env {
		name, value, _ := strings.Cut(kv, "=")
		debugf("Sending env %s = %s", name, value)
		if _, err := s.SendRequest("env", false, ssh.Marshal(envRequest{name, value})); err != nil {
			return sessionPipes{}, &openError{err}
		}
	}

	var err error
	if cmd.Line == "" {
		debugf("Requesting shell.")
		err = s.Shell()
	} else {
		debugf("Sending command: %s", cmd.Line)
		err = s.Start(cmd.Line)
	}
	if err == nil {
		return p, nil
	}
	// A refusal comes back as a failure reply, a lost connection as the
	// channel's end; the connection's own end follows at once.
	if c.lostWithin(lostGrace) {
		return sessionPipes{}, &notDeliveredError{lost: &ConnectionLostError{Host: c.host, Err: c.err}}
	}
	if cmd.Line == "" {
		return sessionPipes{}, ErrShellRefused
	}
	return sessionPipes{}, &ExecRefusedError{Line: cmd.Line}
}

// endedWithoutStatus is the error of a command whose channel closed
// without an exit status, its exec answered at started: a
// *notDeliveredError when c ended (not by a keepalive verdict) within
// notDeliveredWindow of it with nothing crossed either way, a
// *ConnectionLostError when c ended otherwise, nil when c lives on (the
// remote command exited without a status). held is the stdin read but not
// sent.
func (c *conn) endedWithoutStatus(started time.Time, crossed bool, held []byte, debugf func(string, ...any)) error {
	if !c.lostWithin(lostGrace) {
		debugf("remote command exited without exit status")
		return nil
	}
	lost := &ConnectionLostError{Host: c.host, Err: c.err}
	if !crossed && !errors.Is(c.err, keepalive.ErrTimeout) && c.ended.Sub(started) <= notDeliveredWindow {
		return &notDeliveredError{lost: lost, held: held}
	}
	return lost
}

// notDeliveredWindow bounds how long after its exec a command whose
// connection ended before a byte crossed may count as not delivered. A
// server that ends a connection under a command it never served (tinysshd
// after its one session) does it at once; a silent command that ran for a
// while may have done something (it is not git, which always hears from
// the server first), and is not run again.
const notDeliveredWindow = time.Second

// lostGrace is how long a channel that ended (or failed) without an exit
// status waits for the connection's end before it is taken for the server's
// choice.
const lostGrace = 100 * time.Millisecond

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
//
// It counts what the channel accepted, not what was read: a chunk read from
// git whose write failed before any byte of stdin reached the channel is
// kept in held, so that a command run again elsewhere gets it first.
type stdinCopy struct {
	src     io.Reader
	done    chan struct{}
	written atomic.Int64 // bytes the channel accepted
	held    []byte       // read but never written; set before done is closed
}

// stdinChunk is the most a single read takes from stdin.
const stdinChunk = 32 << 10

func copyStdin(dst io.WriteCloser, src io.Reader) *stdinCopy {
	in := &stdinCopy{src: src, done: make(chan struct{})}
	go func() {
		defer close(in.done)
		if src == nil {
			dst.Close() // EOF to the remote command
			return
		}
		buf := make([]byte, stdinChunk)
		for {
			n, rerr := src.Read(buf)
			if n > 0 {
				m, werr := dst.Write(buf[:n])
				written := in.written.Add(int64(m))
				if werr != nil {
					if written == 0 {
						in.held = bytes.Clone(buf[:n])
					}
					return // the channel is gone: no EOF to send
				}
			}
			if rerr != nil {
				break
			}
		}
		dst.Close() // EOF to the remote command
	}()
	return in
}

// stop interrupts a read still blocked on stdin, where the reader allows it,
// waits for the copy to end, and clears the deadline again (a command run
// again elsewhere reads on). It reports whether the copy has ended: a
// reader that cannot be interrupted is left to its goroutine, which ends at
// the reader's next EOF or error, and may still take bytes from it.
func (in *stdinCopy) stop() bool {
	if in.src == nil {
		<-in.done // nothing to read: it ends at once
		return true
	}
	select {
	case <-in.done:
		return true
	default:
	}
	d, ok := in.src.(interface{ SetReadDeadline(time.Time) error })
	if !ok || d.SetReadDeadline(time.Unix(1, 0)) != nil {
		return false
	}
	<-in.done
	d.SetReadDeadline(time.Time{})
	return true
}

// replayStdin is a command's stdin for another attempt: the bytes an earlier
// attempt read but never delivered, then the rest. It keeps the reader's
// SetReadDeadline, which runSession uses to end a blocked read.
type replayStdin struct {
	held []byte
	r    io.Reader
}

func (r *replayStdin) Read(b []byte) (int, error) {
	if len(r.held) > 0 {
		n := copy(b, r.held)
		r.held = r.held[n:]
		return n, nil
	}
	if r.r == nil {
		return 0, io.EOF
	}
	return r.r.Read(b)
}

func (r *replayStdin) SetReadDeadline(t time.Time) error {
	if d, ok := r.r.(interface{ SetReadDeadline(time.Time) error }); ok {
		return d.SetReadDeadline(t)
	}
	return errors.ErrUnsupported
}

// withHeld returns stdin for the attempt after one that ended with nd.
func withHeld(stdin io.Reader, nd *notDeliveredError) io.Reader {
	if len(nd.held) == 0 {
		return stdin
	}
	return &replayStdin{held: nd.held, r: stdin}
}
