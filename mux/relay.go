package mux

// Relay mode: a client whose stdio cannot be passed as descriptors (on
// Windows, or when they are not files) copies them over its control
// connection in msgStdin, msgStdout and msgStderr frames. Each stream has a
// window of relayWindow bytes: a sender may have that many sent and not yet
// consumed by the receiver, who gives them back in msgWindow messages as it
// consumes them. So a slow reader of stdout holds up the SSH channel (and
// through its window, the server) instead of growing anyone's memory.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

const (
	// relayWindow is how many bytes of one stream may be in flight.
	relayWindow = 256 << 10
	// relayChunk is the most one frame of a stream carries.
	relayChunk = 64 << 10
	// relayAck is how much a receiver consumes before it gives window
	// back.
	relayAck = relayWindow / 4
)

// errRelayWindow is a peer that sent more than its window.
var errRelayWindow = errors.New("relayed stream overran its window")

// credit is a sender's window: how many bytes it may still send.
type credit struct {
	mu     sync.Mutex // guards the fields that follow
	n      int
	err    error         // the connection ended: nothing more is sent
	change chan struct{} // closed and replaced when n or err changes
}

func newCredit(n int) *credit { return &credit{n: n, change: make(chan struct{})} }

// take waits until some window is free and takes up to max bytes of it.
func (c *credit) take(max int) (int, error) {
	for {
		c.mu.Lock()
		if c.err != nil {
			c.mu.Unlock()
			return 0, c.err
		}
		if c.n > 0 {
			n := min(c.n, max)
			c.n -= n
			c.mu.Unlock()
			return n, nil
		}
		ch := c.change
		c.mu.Unlock()
		<-ch
	}
}

func (c *credit) give(n int) { c.update(func() { c.n += n }) }

func (c *credit) fail(err error) {
	c.update(func() {
		if c.err == nil {
			c.err = err
		}
	})
}

func (c *credit) update(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f()
	close(c.change)
	c.change = make(chan struct{})
}

// streamWriter sends what is written to it as frames of type t, within
// its window.
type streamWriter struct {
	cc     *controlConn
	t      msgType
	window *credit
}

func (w *streamWriter) Write(b []byte) (int, error) {
	written := 0
	for len(b) > 0 {
		n, err := w.window.take(min(len(b), relayChunk))
		if err != nil {
			return written, err
		}
		if err := w.cc.writeRaw(w.t, b[:n]); err != nil {
			return written, err
		}
		b = b[n:]
		written += n
	}
	return written, nil
}

// streamBuffer holds the bytes of one relayed stream that have arrived
// and not yet been read, at most a window's worth, and gives window back as
// they are read: once half a window has been read, or whenever it runs
// empty, so that a sender never waits on bytes already consumed.
type streamBuffer struct {
	ack func(n int) // gives n bytes of window back; called without mu

	mu       sync.Mutex // guards the fields that follow
	buf      []byte
	eof      bool
	err      error
	stopped  bool // a read deadline in the past: reads end
	unacked  int
	received int // bytes pushed and not yet acknowledged, for the window check
	change   chan struct{}
}

func newStreamBuffer(ack func(int)) *streamBuffer {
	return &streamBuffer{ack: ack, change: make(chan struct{})}
}

func (s *streamBuffer) notify() {
	close(s.change)
	s.change = make(chan struct{})
}

// push appends bytes that arrived; an empty b is the end of the stream.
func (s *streamBuffer) push(b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(b) == 0 {
		s.eof = true
	}
	if s.received+len(b) > relayWindow {
		return fmt.Errorf("%w: %d bytes in flight, window %d", errRelayWindow, s.received+len(b), relayWindow)
	}
	s.received += len(b)
	s.buf = append(s.buf, b...)
	s.notify()
	return nil
}

// fail ends reads with err once the buffered bytes are read.
func (s *streamBuffer) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
	s.notify()
}

// abort drops the buffered bytes and ends reads with err at once.
func (s *streamBuffer) abort(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = nil
	s.err = err
	s.eof = false
	s.notify()
}

func (s *streamBuffer) Read(p []byte) (int, error) {
	s.mu.Lock()
	for len(s.buf) == 0 {
		switch {
		case s.stopped:
			s.mu.Unlock()
			return 0, os.ErrDeadlineExceeded
		case s.eof:
			s.mu.Unlock()
			return 0, io.EOF
		case s.err != nil:
			err := s.err
			s.mu.Unlock()
			return 0, err
		}
		ch := s.change
		s.mu.Unlock()
		<-ch
		s.mu.Lock()
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	if len(s.buf) == 0 {
		s.buf = nil
	}
	s.unacked += n
	// Window goes back a quarter at a time, not after every frame: the
	// sender keeps three quarters in flight, and a message of window
	// costs both sides a wake-up.
	var ack int
	if s.unacked >= relayAck {
		ack, s.unacked = s.unacked, 0
		s.received -= ack
	}
	s.mu.Unlock()
	if ack > 0 {
		s.ack(ack)
	}
	return n, nil
}

// SetReadDeadline ends reads; runSession calls it when the command is
// over. Only a deadline in the past is meaningful here.
func (s *streamBuffer) SetReadDeadline(t time.Time) error {
	if !t.IsZero() && !t.After(time.Now()) {
		s.mu.Lock()
		s.stopped = true
		s.notify()
		s.mu.Unlock()
	}
	return nil
}

// streamName names a relayed stream in msgWindow.
func streamName(t msgType) string { return t.String() }
