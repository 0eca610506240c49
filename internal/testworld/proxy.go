package testworld

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// proxyListener is what the in-process test proxies ([Blackhole],
// [DelayProxy]) share: a listener on 127.0.0.1, the connections they hold
// open, and a Close that ends them all and waits for every goroutine.
type proxyListener struct {
	ln      net.Listener
	backend string
	ctx     context.Context // canceled by Close
	cancel  context.CancelFunc
	wg      sync.WaitGroup // the accept loop and every connection's goroutines

	// mu guards the fields that follow, and the proxies' own per-connection
	// state.
	mu       sync.Mutex
	closed   bool
	accepted int
	conns    map[io.Closer]struct{}
}

// listenProxy validates backend ("host:port") and listens on a free port on
// 127.0.0.1. what names the proxy in errors.
func listenProxy(what, backend string) (*proxyListener, error) {
	if _, _, err := net.SplitHostPort(backend); err != nil {
		return nil, fmt.Errorf("testworld: %s backend: %w", what, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("testworld: %s: %w", what, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &proxyListener{ln: ln, backend: backend, ctx: ctx, cancel: cancel, conns: map[io.Closer]struct{}{}}, nil
}

// Port returns the port the proxy listens on (on 127.0.0.1).
func (p *proxyListener) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// Addr returns "127.0.0.1:PORT".
func (p *proxyListener) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port())) }

// Accepted returns how many connections the proxy has accepted.
func (p *proxyListener) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// Close stops listening, closes every connection (both sides) and waits
// for all of the proxy's goroutines to return. It is idempotent.
func (p *proxyListener) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.wg.Wait()
		return nil
	}
	p.closed = true
	p.cancel()
	err := p.ln.Close()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

// start runs the accept loop. For every connection, adopt is called with
// p.mu held: it returns what Close must close, and the function that serves
// the connection (run in a goroutine of p's), or nil to hold it unserved
// until Close.
func (p *proxyListener) start(adopt func(nc net.Conn) (io.Closer, func())) {
	p.wg.Go(func() {
		for {
			nc, err := p.ln.Accept()
			if err != nil {
				if p.ctx.Err() != nil {
					return
				}
				select { // a transient error (out of descriptors): do not spin
				case <-p.ctx.Done():
					return
				case <-time.After(10 * time.Millisecond):
				}
				continue
			}
			p.mu.Lock()
			if p.closed {
				p.mu.Unlock()
				nc.Close()
				return
			}
			p.accepted++
			c, serve := adopt(nc)
			p.conns[c] = struct{}{}
			p.mu.Unlock()
			if serve != nil {
				p.wg.Go(serve)
			}
		}
	})
}

// track remembers c for Close; it reports false once the proxy is closed.
func (p *proxyListener) track(c io.Closer) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

// untrack forgets and closes cs.
func (p *proxyListener) untrack(cs ...io.Closer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
		c.Close()
	}
}
