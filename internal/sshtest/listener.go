package sshtest

import (
	"net"
	"sync"
	"testing"
)

// Listener serves the connections of a [net.Listener] for the rest of a
// test: the plain-socket counterpart of [Server], for peers that do not
// speak SSH (an agent socket, a control socket, a TCP server that echoes or
// never answers). Start one with [Serve] or [Listen].
type Listener struct {
	ln net.Listener
	wg sync.WaitGroup // the accept loop and one goroutine per served connection

	mu       sync.Mutex // guards the fields that follow
	closed   bool
	conns    map[net.Conn]struct{} // open connections
	accepted int
}

// Serve accepts connections on ln and calls serve for each in a goroutine
// of its own, closing the connection when serve returns. With a nil serve
// every connection is held open, unread, until the end. When the test ends
// (or on [Listener.Close]) ln and every open connection are closed, and
// every serve has returned.
func Serve(t testing.TB, ln net.Listener, serve func(net.Conn)) *Listener {
	l := &Listener{ln: ln, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { l.Close() })
	l.wg.Go(func() { l.acceptLoop(serve) })
	return l
}

// Listen is [Serve] on a new TCP listener on a free port of 127.0.0.1.
func Listen(t testing.TB, serve func(net.Conn)) *Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return Serve(t, ln, serve)
}

func (l *Listener) acceptLoop(serve func(net.Conn)) {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return // closed
		}
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			c.Close()
			return
		}
		l.conns[c] = struct{}{}
		l.accepted++
		if serve != nil {
			l.wg.Go(func() {
				serve(c)
				l.mu.Lock()
				delete(l.conns, c)
				l.mu.Unlock()
				c.Close()
			})
		}
		l.mu.Unlock()
	}
}

// Addr returns the listener's address.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Accepted returns how many connections have been accepted.
func (l *Listener) Accepted() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.accepted
}

// Close closes the listener and every open connection, and waits until
// every serve has returned. It may be called more than once.
func (l *Listener) Close() error {
	l.mu.Lock()
	var err error
	if !l.closed {
		l.closed = true
		err = l.ln.Close()
		for c := range l.conns {
			c.Close()
		}
	}
	l.mu.Unlock()
	l.wg.Wait()
	return err
}
