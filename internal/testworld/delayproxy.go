package testworld

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// DelayProxy is an in-process TCP proxy on 127.0.0.1 that adds a fixed
// one-way latency: every chunk of bytes read from one side is written to
// the other side Delay after it was read, in order, in both directions. A
// round trip through it therefore costs at least 2×Delay, which makes the
// number of round trips a protocol needs visible on a loopback network
// (scripts/bench). It does not limit bandwidth: chunks in flight are
// queued, up to a bounded number per direction. An EOF is passed on (as a
// half-close) after the same delay. Start one with [StartDelayProxy];
// [DelayProxy.Close] ends it.
type DelayProxy struct {
	ln      net.Listener
	backend string
	delay   time.Duration
	ctx     context.Context // canceled by Close
	cancel  context.CancelFunc
	wg      sync.WaitGroup // the accept loop and every connection's goroutines

	// mu guards the fields that follow.
	mu       sync.Mutex
	closed   bool
	accepted int
	conns    map[net.Conn]struct{} // both sides of every open connection
}

// delayChunkQueue bounds the chunks in flight per direction; a reader
// that is this far ahead of the delayed writer waits.
const delayChunkQueue = 4096

// StartDelayProxy listens on a free port on 127.0.0.1 and forwards every
// connection to backend ("host:port"), delaying each direction by delay.
// Callers must call [DelayProxy.Close].
func StartDelayProxy(backend string, delay time.Duration) (*DelayProxy, error) {
	if _, _, err := net.SplitHostPort(backend); err != nil {
		return nil, fmt.Errorf("testworld: delay proxy backend: %w", err)
	}
	if delay < 0 {
		return nil, fmt.Errorf("testworld: delay proxy: negative delay %v", delay)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("testworld: delay proxy: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &DelayProxy{ln: ln, backend: backend, delay: delay, ctx: ctx, cancel: cancel, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.acceptLoop)
	return p, nil
}

// Port returns the port the proxy listens on (on 127.0.0.1).
func (p *DelayProxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// Addr returns "127.0.0.1:PORT".
func (p *DelayProxy) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port())) }

// Delay returns the one-way delay.
func (p *DelayProxy) Delay() time.Duration { return p.delay }

// Accepted returns how many connections the proxy has accepted.
func (p *DelayProxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// Close stops listening, closes every connection (both sides) and waits
// for all of the proxy's goroutines to return. It is idempotent.
func (p *DelayProxy) Close() error {
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

func (p *DelayProxy) acceptLoop() {
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
		if !p.track(nc) {
			nc.Close()
			return
		}
		p.mu.Lock()
		p.accepted++
		p.mu.Unlock()
		p.wg.Go(func() { p.serve(nc) })
	}
}

// track remembers c for Close; it reports false once the proxy is closed.
func (p *DelayProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *DelayProxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
		c.Close()
	}
}

func (p *DelayProxy) serve(client net.Conn) {
	var d net.Dialer
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	server, err := d.DialContext(ctx, "tcp", p.backend)
	cancel()
	if err != nil || !p.track(server) {
		if server != nil {
			server.Close()
		}
		p.untrack(client)
		return
	}
	abort := func() { client.Close(); server.Close() }
	var wg sync.WaitGroup
	wg.Go(func() { p.pipe(server, client, abort) })
	wg.Go(func() { p.pipe(client, server, abort) })
	wg.Wait()
	p.untrack(client, server)
}

// delayedChunk is data read at some time, due for writing at due. A chunk
// with eof set ends the direction (after its data).
type delayedChunk struct {
	data []byte
	due  time.Time
	eof  bool
}

// pipe copies src to dst, each chunk delay after it was read. On EOF it
// half-closes dst after the delay; on an error it calls abort.
func (p *DelayProxy) pipe(dst, src net.Conn, abort func()) {
	queue := make(chan delayedChunk, delayChunkQueue)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer close(queue)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			c := delayedChunk{data: buf[:n], due: time.Now().Add(p.delay)}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					abort()
					return
				}
				c.eof = true
			}
			if n > 0 || c.eof {
				select {
				case queue <- c:
				case <-p.ctx.Done():
					return
				}
			}
			if c.eof {
				return
			}
		}
	}()
	defer func() {
		// Unblock a reader stuck on a full queue after a write error.
		for range queue {
		}
		<-readerDone
	}()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for c := range queue {
		if wait := time.Until(c.due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-p.ctx.Done():
				return
			}
		}
		if len(c.data) > 0 {
			if _, err := dst.Write(c.data); err != nil {
				abort()
				return
			}
		}
		if c.eof {
			if tc, ok := dst.(*net.TCPConn); ok {
				tc.CloseWrite()
			}
			return
		}
	}
}
