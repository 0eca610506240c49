package mux

// The client's side of the control protocol: what a gitssh process that
// git started does to have its command run by the master.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/gitssh/gitssh/dial"
)

// ErrMasterUnavailable is a master that cannot take the command: none is
// running (or a stale socket is left), it did not answer in time, or it is
// exiting. Nothing was run: the command starts a master, or runs in direct
// mode.
var ErrMasterUnavailable = errors.New("mux: master unavailable")

// ErrMasterSilent is a master that accepted the connection but did not
// answer the hello in time: stopped (SIGSTOP), wedged or overloaded. It is
// also an ErrMasterUnavailable; starting another master would not help.
var ErrMasterSilent = errors.New("mux: the master did not answer")

// ErrMasterExited is a master told to exit (gitssh -O exit) while it ran
// the command, which it ended.
var ErrMasterExited = errors.New("mux: the master was told to exit while the command ran")

// ErrMasterLost is a master that went away while it ran a command; the
// command's outcome is unknown and it must not be retried.
var ErrMasterLost = errors.New("mux: lost the connection to the master")

// DefaultHelloTimeout bounds connecting to the master and its hello.
const DefaultHelloTimeout = 3 * time.Second

// Client talks to the master listening on a control socket.
type Client struct {
	SocketPath string
	Version    string
	// Relay makes the client copy its stdio over the control connection
	// instead of passing them as descriptors. It is what happens anyway
	// when they are not files, or descriptors cannot be passed here.
	Relay bool
	// HelloTimeout bounds connecting and the hello exchange: a master
	// that does not answer within it (stopped, wedged, overloaded) is
	// ErrMasterUnavailable, and nothing was asked of it. If zero,
	// DefaultHelloTimeout is used.
	HelloTimeout time.Duration
}

// Relays reports whether a command with these streams is relayed rather
// than given to the master as descriptors.
func (c Client) Relays(stdio Stdio) bool {
	_, ok := stdioFiles(stdio)
	return c.Relay || !canPassFDs || !ok
}

func stdioFiles(stdio Stdio) ([]*os.File, bool) {
	in, ok1 := stdio.Stdin.(*os.File)
	out, ok2 := stdio.Stdout.(*os.File)
	errOut, ok3 := stdio.Stderr.(*os.File)
	return []*os.File{in, out, errOut}, ok1 && ok2 && ok3
}

// connect dials the master and exchanges hellos within the hello timeout
// (and ctx). A master of another version comes back with its connection
// and a *VersionMismatchError: it can still be asked to stop.
func (c Client) connect(ctx context.Context) (*controlConn, error) {
	timeout := c.HelloTimeout
	if timeout <= 0 {
		timeout = DefaultHelloTimeout
	}
	deadline := time.Now().Add(timeout)
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	nc, err := dialControl(dctx, c.SocketPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMasterUnavailable, err)
	}
	cc := newControlConn(nc)
	cc.setDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { cc.setDeadline(time.Unix(1, 0)) })
	h, err := exchangeHello(cc, c.Version)
	stop()
	cc.setDeadline(time.Time{})
	if err == nil && h.Program != c.Version {
		err = &VersionMismatchError{Ours: protocolVersion, Theirs: h.Version, OursProgram: c.Version, TheirsProgram: h.Program}
	}
	if _, ok := errors.AsType[*VersionMismatchError](err); ok {
		return cc, err
	}
	if err != nil {
		cc.close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, fmt.Errorf("%w: %w within %v", ErrMasterUnavailable, ErrMasterSilent, timeout)
		}
		return nil, fmt.Errorf("%w: %w", ErrMasterUnavailable, err)
	}
	return cc, nil
}

// Run has the master run req with stdio and returns the command's exit
// status; the master words any failure on the command's stderr. Questions
// the master asks (passphrases, host keys) go to prompter. Cancelling ctx
// cancels the command: a command not started yet is never started.
func (c Client) Run(ctx context.Context, req Request, stdio Stdio, prompter dial.Prompter) (int, error) {
	cc, err := c.connect(ctx)
	if err != nil {
		if cc != nil {
			cc.close()
		}
		return ExitStatusLost, err
	}
	defer cc.close()
	stop := context.AfterFunc(ctx, func() { cc.conn.Close() })
	defer stop()

	var out *relayedOutput
	if c.Relays(stdio) {
		out = newRelayedOutput(cc, stdio)
		err = cc.writeMsg(msgRunRelay, req)
		if err == nil {
			go relayStdin(cc, stdio.Stdin, out.stdinWindow)
		}
	} else {
		files, _ := stdioFiles(stdio)
		err = cc.writeMsg(msgRun, req, files...)
	}
	if err != nil {
		return ExitStatusLost, fmt.Errorf("%w: %w", ErrMasterUnavailable, err)
	}
	status, err := c.await(ctx, cc, out, prompter)
	if out != nil {
		// A failed write to the client's own stdout or stderr is why the
		// command ended, whatever the master said.
		if werr := out.finish(err); werr != nil {
			return ExitStatusLost, werr
		}
	}
	return status, err
}

// await reads the master's messages until the command's exit.
func (c Client) await(ctx context.Context, cc *controlConn, out *relayedOutput, prompter dial.Prompter) (int, error) {
	lost := func() (int, error) {
		if ctx.Err() != nil {
			return ExitStatusLost, ctx.Err()
		}
		return ExitStatusLost, ErrMasterLost
	}
	for {
		t, body, files, err := cc.readMsg()
		dropFiles(files)
		if err != nil {
			return lost()
		}
		switch {
		case t == msgPrompt:
			if err := answerPrompt(cc, body, prompter); err != nil {
				return lost()
			}
		case out != nil && (t == msgStdout || t == msgStderr || t == msgWindow):
			if err := out.receive(t, body); err != nil {
				return ExitStatusLost, fmt.Errorf("mux: relay from master: %w", err)
			}
		case t == msgExit:
			var e exitMsg
			if err := json.Unmarshal(body, &e); err != nil {
				return ExitStatusLost, fmt.Errorf("mux: bad exit from master: %w", err)
			}
			if e.NotStarted {
				return ExitStatusLost, fmt.Errorf("%w: master exiting", ErrMasterUnavailable)
			}
			return e.Status, nil
		default:
			return ExitStatusLost, fmt.Errorf("mux: unexpected %v from master", t)
		}
	}
}

// relayedOutput is the client's side of a relayed command's stdout and
// stderr: buffers that the read loop fills without blocking (the master
// sends no more than the window), and writers that empty them into the
// client's own streams and give the window back.
type relayedOutput struct {
	buffers     map[msgType]*streamBuffer
	stdinWindow *credit
	wg          sync.WaitGroup
	errs        chan error
}

func newRelayedOutput(cc *controlConn, stdio Stdio) *relayedOutput {
	o := &relayedOutput{
		buffers:     make(map[msgType]*streamBuffer),
		stdinWindow: newCredit(relayWindow),
		errs:        make(chan error, 2),
	}
	for t, w := range map[msgType]io.Writer{msgStdout: stdio.Stdout, msgStderr: stdio.Stderr} {
		b := newStreamBuffer(func(n int) {
			cc.writeMsg(msgWindow, windowMsg{Stream: streamName(t), N: n})
		})
		o.buffers[t] = b
		o.wg.Go(func() {
			if _, err := io.Copy(w, b); err != nil && !errors.Is(err, errRelayDone) {
				o.errs <- fmt.Errorf("write %v: %w", t, err)
				cc.conn.Close() // the master ends the command
			}
		})
	}
	return o
}

// errRelayDone ends the writers of a command that failed.
var errRelayDone = errors.New("relay ended")

func (o *relayedOutput) receive(t msgType, body []byte) error {
	if t == msgWindow {
		var w windowMsg
		if err := json.Unmarshal(body, &w); err != nil {
			return err
		}
		if w.Stream == streamName(msgStdin) && w.N > 0 {
			o.stdinWindow.give(w.N)
		}
		return nil
	}
	if len(body) == 0 {
		return nil // only stdin has an end-of-stream frame
	}
	return o.buffers[t].push(body)
}

// finish waits until every byte received has been written, after the
// exit (cmdErr nil), or drops what is left after a failure.
func (o *relayedOutput) finish(cmdErr error) error {
	for _, b := range o.buffers {
		if cmdErr != nil {
			b.abort(errRelayDone)
		} else {
			b.push(nil)
		}
	}
	o.stdinWindow.fail(errRelayDone)
	o.wg.Wait()
	close(o.errs)
	return <-o.errs
}

// relayStdin sends the client's stdin to the master within its window,
// and an empty frame at its end (or on a read error, as ssh treats one).
func relayStdin(cc *controlConn, stdin io.Reader, window *credit) {
	buf := make([]byte, relayChunk)
	for stdin != nil {
		n, err := window.take(relayChunk)
		if err != nil {
			return
		}
		got, rerr := stdin.Read(buf[:n])
		if got > 0 {
			if err := cc.writeRaw(msgStdin, buf[:got]); err != nil {
				return
			}
		}
		if got < n {
			window.give(n - got)
		}
		if rerr != nil {
			break
		}
	}
	cc.writeRaw(msgStdin, nil)
}

// Control sends a control command (check, exit, stop, status) and returns
// the master's pid and, for status, its statistics. A master of another
// version is still asked: stopping an old master is what "stop" is for.
func (c Client) Control(ctx context.Context, command string) (pid int, status *MasterStatus, err error) {
	cc, err := c.connect(ctx)
	if cc == nil {
		return 0, nil, err
	}
	defer cc.close()
	if err := cc.writeMsg(msgControl, controlReq{Command: command}); err != nil {
		return 0, nil, fmt.Errorf("%w: %w", ErrMasterUnavailable, err)
	}
	cc.setDeadline(time.Now().Add(10 * time.Second))
	t, body, files, err := cc.readMsg()
	dropFiles(files)
	if err != nil || t != msgControlReply {
		return 0, nil, ErrMasterLost
	}
	var reply controlReply
	if err := json.Unmarshal(body, &reply); err != nil {
		return 0, nil, fmt.Errorf("mux: bad control reply: %w", err)
	}
	if !reply.OK {
		return 0, nil, fmt.Errorf("mux: master: %s", reply.Error)
	}
	return reply.PID, reply.Status, nil
}
