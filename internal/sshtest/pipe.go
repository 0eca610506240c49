package sshtest

import (
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// Pipe returns the two ends of an in-memory, full-duplex connection.
//
// Unlike [net.Pipe], writes are buffered and never block: both ends of an SSH
// handshake write their version line before reading, which deadlocks over
// net.Pipe. Every blocking operation waits on channels or timers, so Pipe
// works inside a testing/synctest bubble (create it inside the bubble).
// Deadlines are supported. Closing one end makes the other end's reads
// return [io.EOF] once the buffered data is read, and its writes fail with
// [io.ErrClosedPipe].
func Pipe() (net.Conn, net.Conn) {
	a, b := newPipeBuf(), newPipeBuf()
	c1 := &pipeConn{r: a, w: b, closed: make(chan struct{}), rd: newDeadline(), wd: newDeadline()}
	c2 := &pipeConn{r: b, w: a, closed: make(chan struct{}), rd: newDeadline(), wd: newDeadline()}
	return c1, c2
}

// pipeBuf is one direction of a pipe.
type pipeBuf struct {
	notify chan struct{} // capacity 1: a byte, EOF or close may be waiting

	mu     sync.Mutex // guards the fields that follow
	data   []byte
	eof    bool // the writing end is closed
	noRead bool // the reading end is closed: writes fail
}

func newPipeBuf() *pipeBuf { return &pipeBuf{notify: make(chan struct{}, 1)} }

func (b *pipeBuf) wake() {
	select {
	case b.notify <- struct{}{}:
	default:
	}
}

type pipeConn struct {
	r, w   *pipeBuf // read from r, write to w
	rd, wd *deadline
	once   sync.Once
	closed chan struct{}
}

func (c *pipeConn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

func (c *pipeConn) Read(p []byte) (int, error) {
	for {
		if c.isClosed() {
			return 0, c.err("read", io.ErrClosedPipe)
		}
		if c.rd.expired() {
			return 0, c.err("read", os.ErrDeadlineExceeded)
		}
		b := c.r
		b.mu.Lock()
		if len(b.data) > 0 {
			n := copy(p, b.data)
			b.data = b.data[n:]
			if len(b.data) == 0 {
				b.data = nil
			} else {
				b.wake() // for another reader
			}
			b.mu.Unlock()
			return n, nil
		}
		if b.eof {
			b.mu.Unlock()
			return 0, io.EOF
		}
		b.mu.Unlock()
		if len(p) == 0 {
			return 0, nil
		}
		select {
		case <-b.notify:
		case <-c.closed:
		case <-c.rd.wait():
		}
	}
}

func (c *pipeConn) Write(p []byte) (int, error) {
	if c.isClosed() {
		return 0, c.err("write", io.ErrClosedPipe)
	}
	if c.wd.expired() {
		return 0, c.err("write", os.ErrDeadlineExceeded)
	}
	b := c.w
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.noRead {
		return 0, c.err("write", io.ErrClosedPipe)
	}
	b.data = append(b.data, p...)
	b.wake()
	return len(p), nil
}

func (c *pipeConn) Close() error {
	c.once.Do(func() {
		close(c.closed)
		c.r.mu.Lock()
		c.r.noRead = true
		c.r.mu.Unlock()
		c.w.mu.Lock()
		c.w.eof = true
		c.w.mu.Unlock()
		c.w.wake()
	})
	return nil
}

func (c *pipeConn) err(op string, err error) error {
	return &net.OpError{Op: op, Net: "pipe", Addr: pipeAddr{}, Err: err}
}

func (c *pipeConn) LocalAddr() net.Addr  { return pipeAddr{} }
func (c *pipeConn) RemoteAddr() net.Addr { return pipeAddr{} }

func (c *pipeConn) SetDeadline(t time.Time) error {
	c.rd.set(t)
	c.wd.set(t)
	return nil
}
func (c *pipeConn) SetReadDeadline(t time.Time) error  { c.rd.set(t); return nil }
func (c *pipeConn) SetWriteDeadline(t time.Time) error { c.wd.set(t); return nil }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// deadline is a settable point in time; wait returns a channel that is closed
// once it has passed.
type deadline struct {
	mu     sync.Mutex // guards the fields that follow
	timer  *time.Timer
	passed chan struct{}
}

func newDeadline() *deadline { return &deadline{passed: make(chan struct{})} }

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.passed // the timer fired: wait until its func has closed passed
	}
	d.timer = nil
	if isClosed(d.passed) {
		d.passed = make(chan struct{})
	}
	if t.IsZero() {
		return
	}
	if dur := time.Until(t); dur > 0 {
		passed := d.passed
		d.timer = time.AfterFunc(dur, func() { close(passed) })
		return
	}
	close(d.passed)
}

func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.passed
}

func (d *deadline) expired() bool { return isClosed(d.wait()) }

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
