package testworld

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// Blackhole is an in-process TCP proxy on 127.0.0.1 to a backend that can
// be switched into a dead link: with [Blackhole.SetBlackhole](true) it stops
// forwarding bytes in both directions without closing either side, like a
// route that went away or a NAT that forgot the connection. Nothing is
// reset and no FIN is sent: the peers only learn of it from their own
// timeouts (SSH keepalives, TCP retransmission limits). Start one with
// [StartBlackhole]; [Blackhole.Close] ends it.
//
// A connection that was blackholed stays dead for good, as a forgotten NAT
// entry does, even after [Blackhole.SetBlackhole](false): bytes read from a
// peer before it was noticed are held and never delivered, and nothing
// more is read (so the peer's writes eventually block on full buffers).
// Connections accepted while the blackhole is on are accepted by the kernel
// but never forwarded (the backend is not dialled). Turning it off makes
// new connections work again.
type Blackhole struct {
	*proxyListener
	on bool // guarded by proxyListener.mu
}

// blackholeConn is one proxied connection.
type blackholeConn struct {
	client net.Conn
	server net.Conn // nil until dialled
	dead   bool     // guarded by Blackhole.mu
}

// StartBlackhole listens on a free port on 127.0.0.1 and forwards every
// connection to backend ("host:port") until it is switched off with
// [Blackhole.SetBlackhole]. Callers must call [Blackhole.Close].
func StartBlackhole(backend string) (*Blackhole, error) {
	l, err := listenProxy("blackhole", backend)
	if err != nil {
		return nil, err
	}
	b := &Blackhole{proxyListener: l}
	l.start(func(nc net.Conn) (io.Closer, func()) {
		c := &blackholeConn{client: nc, dead: b.on}
		if c.dead {
			return c, nil // held open, never read, closed by Close
		}
		return c, func() { b.serve(c) }
	})
	return b, nil
}

// SetBlackhole switches the link. On, every open connection is dead from
// now on and new ones are held unforwarded. Off, new connections are
// forwarded again; connections that died stay dead.
func (b *Blackhole) SetBlackhole(on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.on = on
	if on {
		for c := range b.conns {
			c.(*blackholeConn).dead = true
		}
	}
}

// Close closes both sides.
func (c *blackholeConn) Close() error {
	c.client.Close()
	if c.server != nil {
		c.server.Close()
	}
	return nil
}

// isDead reports whether c has been blackholed.
func (b *Blackhole) isDead(c *blackholeConn) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return c.dead
}

// remove forgets c and closes it, unless it died: a dead connection stays
// open until Close.
func (b *Blackhole) remove(c *blackholeConn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c.dead && !b.closed {
		return
	}
	delete(b.conns, c)
	c.Close()
}

func (b *Blackhole) serve(c *blackholeConn) {
	var d net.Dialer
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	server, err := d.DialContext(ctx, "tcp", b.backend)
	cancel()
	b.mu.Lock()
	if err != nil || b.closed {
		if server != nil {
			server.Close()
		}
		delete(b.conns, c)
		c.client.Close()
		b.mu.Unlock()
		return
	}
	c.server = server
	dead := c.dead
	b.mu.Unlock()
	if dead {
		return // blackholed while dialling: both sides held until Close
	}

	var wg sync.WaitGroup
	wg.Go(func() { b.pipe(c, c.server, c.client) })
	wg.Go(func() { b.pipe(c, c.client, c.server) })
	wg.Wait()
	b.remove(c)
}

// pipe copies src to dst until src ends, an error, or c dies. On EOF it
// half-closes dst, as a proxy does; on an error it closes both sides. Once
// c is dead it returns without writing what it read last and without
// reading more; both sides stay open.
func (b *Blackhole) pipe(c *blackholeConn, dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if b.isDead(c) {
			return
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				b.abort(c)
				return
			}
		}
		if errors.Is(err, io.EOF) {
			if tc, ok := dst.(*net.TCPConn); ok {
				tc.CloseWrite()
			}
			return
		}
		if err != nil {
			b.abort(c)
			return
		}
	}
}

// abort closes both sides of c unless it is dead.
func (b *Blackhole) abort(c *blackholeConn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !c.dead {
		c.Close()
	}
}
