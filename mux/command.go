package mux

// The master's side of one client's command: its stdio (passed
// descriptors, or relayed in frames), the link that reads the client's
// messages while the command runs, and the run itself.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"sync"
	"time"
)

// clientLink reads a client's messages while its command runs: answers to
// prompts, and in relay mode its stdin and the window it gives back. The
// client closing its connection (git killed it, or ^C) cancels the command.
type clientLink struct {
	cc      *controlConn
	prompts *remotePrompter
	cancel  context.CancelFunc
	// Relay mode only: the client's stdin as it arrives, and the window
	// of the streams the master sends.
	stdin   *streamBuffer
	windows map[string]*credit
	done    chan struct{} // closed when the reader has ended
}

func newClientLink(ctx context.Context, cc *controlConn) (*clientLink, context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	return &clientLink{
		cc:      cc,
		prompts: newRemotePrompter(ctx, cc),
		cancel:  cancel,
		done:    make(chan struct{}),
	}, ctx
}

// relayStdio makes the command's streams relayed ones.
func (l *clientLink) relayStdio() Stdio {
	l.stdin = newStreamBuffer(func(n int) {
		l.cc.writeMsg(msgWindow, windowMsg{Stream: streamName(msgStdin), N: n})
	})
	l.windows = map[string]*credit{
		streamName(msgStdout): newCredit(relayWindow),
		streamName(msgStderr): newCredit(relayWindow),
	}
	return Stdio{
		Stdin:  l.stdin,
		Stdout: &streamWriter{cc: l.cc, t: msgStdout, window: l.windows[streamName(msgStdout)]},
		Stderr: &streamWriter{cc: l.cc, t: msgStderr, window: l.windows[streamName(msgStderr)]},
	}
}

// read runs until the client's connection ends or misbehaves.
func (l *clientLink) read() {
	defer close(l.done)
	err := l.readUntilError()
	l.cancel()
	if l.stdin != nil {
		l.stdin.fail(err)
		for _, w := range l.windows {
			w.fail(err)
		}
	}
}

func (l *clientLink) readUntilError() error {
	for {
		t, body, files, err := l.cc.readMsg()
		dropFiles(files)
		if err != nil {
			return err
		}
		switch {
		case t == msgAnswer:
			l.prompts.deliver(body)
		case t == msgStdin && l.stdin != nil:
			if err := l.stdin.push(body); err != nil {
				return err
			}
		case t == msgWindow && l.windows != nil:
			var w windowMsg
			if err := json.Unmarshal(body, &w); err != nil {
				return err
			}
			if c, ok := l.windows[w.Stream]; ok && w.N > 0 {
				c.give(w.N)
			}
		default:
			return errUnexpectedMsg
		}
	}
}

// stop ends the reader and waits for it.
func (l *clientLink) stop() {
	l.cc.setDeadline(time.Unix(1, 0))
	<-l.done
}

// errUnexpectedMsg is a client message that has no place in a command.
var errUnexpectedMsg = errors.New("mux: unexpected control message during a command")

// passedStdio makes a command's streams from the client's descriptors; the
// returned func closes them.
func passedStdio(files []*os.File) (Stdio, func()) {
	stdin := newPassedStdin(files[0])
	return Stdio{Stdin: stdin, Stdout: files[1], Stderr: files[2]}, func() {
		stdin.Close()
		files[1].Close()
		files[2].Close()
	}
}

// runCommand runs one client's command on the pool and reports its exit
// status to the client, after every byte of its output.
func (m *Master) runCommand(ctx context.Context, wg *sync.WaitGroup, cc *controlConn, req Request, stdio Stdio, relay bool) {
	link, ctx := newClientLink(ctx, cc)
	if relay {
		stdio = link.relayStdio()
	}
	go link.read()
	defer link.stop()

	m.mu.Lock()
	m.running++
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.running--
		m.mu.Unlock()
	}()

	rep := m.cfg.NewReporter(stdio.Stderr, req.Dest)
	proxyStderr := &handoffWriter{w: stdio.Stderr, after: m.cfg.ProxyStderr}
	defer proxyStderr.handOff()
	cmd := req.command(stdio, rep)
	// A client that gave up (^C, a timeout) while its command waited for
	// a channel must not find it run after all.
	cmd.mayStart = func() bool { return ctx.Err() == nil && !peerGone(cc.conn) }
	status, err := m.poolFor(wg, req).run(ctx, req.Dest, cmd, req.dialOptions(link.prompts, rep, proxyStderr))

	_, notStarted := errors.AsType[*notStartedError](err)
	exiting := notStarted && m.ctx.Err() != nil
	// The master's context is looked at first: its cancellation reaches
	// this command's context a moment later, not at once.
	switch {
	case err == nil, exiting:
	case errors.Is(err, errAbandoned):
		status = ExitStatusLost // nobody is there to tell
	case m.ctx.Err() != nil:
		status = reportFailure(ctx, rep, ErrMasterExited, req.Dest)
	default:
		status = reportFailure(ctx, rep, err, req.Dest)
	}
	m.log.Debug("command done", "dest", req.Dest.Alias, "status", status, "err", err, "not_started", exiting)
	if err := cc.writeMsg(msgExit, exitMsg{Status: status, NotStarted: exiting}); err != nil {
		m.log.Debug("report exit", "err", err)
	}
}

// handoffWriter takes a ProxyCommand's stderr: to the stderr of the command
// that started it while that command runs, then to the master's log (the
// proxy lives as long as its connection). It never fails, so that the
// proxy never blocks on a stderr nobody reads.
type handoffWriter struct {
	mu    sync.Mutex // guards w
	w     io.Writer
	after io.Writer // nil: dropped
}

func (h *handoffWriter) Write(b []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.w != nil {
		h.w.Write(b)
	}
	return len(b), nil
}

func (h *handoffWriter) handOff() {
	h.mu.Lock()
	h.w = h.after
	h.mu.Unlock()
}
