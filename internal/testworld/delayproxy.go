package testworld

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
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
	*proxyListener
	delay time.Duration
}

// delayChunkQueue bounds the chunks in flight per direction; a reader
// that is this far ahead of the delayed writer waits.
const delayChunkQueue = 4096

// StartDelayProxy listens on a free port on 127.0.0.1 and forwards every
// connection to backend ("host:port"), delaying each direction by delay.
// Callers must call [DelayProxy.Close].
func StartDelayProxy(backend string, delay time.Duration) (*DelayProxy, error) {
	if delay < 0 {
		return nil, fmt.Errorf("testworld: delay proxy: negative delay %v", delay)
	}
	l, err := listenProxy("delay proxy", backend)
	if err != nil {
		return nil, err
	}
	p := &DelayProxy{proxyListener: l, delay: delay}
	l.start(func(nc net.Conn) (io.Closer, func()) {
		return nc, func() { p.serve(nc) }
	})
	return p, nil
}

// Delay returns the one-way delay.
func (p *DelayProxy) Delay() time.Duration { return p.delay }

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
