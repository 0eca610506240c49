package sshtest

import (
	"io"
	"maps"
	"net"
	"slices"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// conn is the server side of one connection.
type conn struct {
	id  int
	nc  net.Conn
	srv *Server
	sc  *ssh.ServerConn

	idle *time.Timer // Options.IdleTimeout's timer; nil without one

	mu       sync.Mutex // guards the fields that follow
	open     int        // session channels holding a slot
	used     bool       // a session channel was ever opened
	ending   bool       // CloseAfterFirstSession: the first session has ended, nothing more is answered
	sessions map[*probe]struct{}
}

// serve runs the handshake, then serves global requests and channel opens
// until the connection ends. It returns after every goroutine it started
// has ended.
func (s *Server) serve(nc net.Conn, id int) {
	defer s.untrack(nc)
	defer nc.Close()
	sc, chans, reqs, err := ssh.NewServerConn(nc, s.config)
	if err != nil {
		return
	}
	c := &conn{id: id, nc: nc, srv: s, sc: sc, sessions: make(map[*probe]struct{})}
	if d := s.opts.IdleTimeout; d > 0 {
		c.idle = time.AfterFunc(d, func() { nc.Close() })
		defer c.idle.Stop()
	}
	var wg sync.WaitGroup
	wg.Go(func() { c.globalRequests(reqs) })
	for newCh := range chans {
		c.active()
		if c.isEnding() {
			continue // tinysshd has exited: the open is never answered
		}
		if newCh.ChannelType() != "session" {
			newCh.Reject(ssh.UnknownChannelType, "unknown channel type")
			continue
		}
		if !c.admit() {
			s.count(func() { s.refused++ })
			newCh.Reject(s.opts.refusal())
			continue
		}
		// Counted before the confirmation is sent, so that a client
		// that has its channel sees it counted.
		s.count(func() { s.channels++ })
		ch, reqs, err := newCh.Accept()
		if err != nil {
			s.count(func() { s.channels-- })
			c.release()
			continue
		}
		pr := c.addSession()
		wg.Go(func() { c.session(ch, reqs, pr) })
	}
	// The connection is gone: x/crypto has closed every channel, so the
	// session goroutines are ending.
	wg.Wait()
}

// closeGracefully ends the connection with a FIN and closes it once the
// client has closed its side (or after a second): a socket closed with
// unread bytes (the client's answer to the channel close) sends a reset,
// which can make the client lose the session's last packets.
func (c *conn) closeGracefully() {
	if tc, ok := c.nc.(*net.TCPConn); ok {
		tc.CloseWrite()
		tc.SetReadDeadline(time.Now().Add(time.Second))
		io.Copy(io.Discard, tc)
	}
	c.nc.Close()
}

// isEnding reports whether the connection is about to close after its
// first session (Options.CloseAfterFirstSession).
func (c *conn) isEnding() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ending
}

func (c *conn) globalRequests(reqs <-chan *ssh.Request) {
	for req := range reqs {
		if req.Type == "keepalive@openssh.com" {
			c.srv.count(func() { c.srv.keepalives++ })
			if c.srv.opts.IgnoreKeepalives {
				continue
			}
		}
		if req.WantReply {
			req.Reply(false, nil)
		}
	}
}

// active records channel traffic from the client, for Options.IdleTimeout.
func (c *conn) active() {
	if c.idle != nil {
		c.idle.Reset(c.srv.opts.IdleTimeout)
	}
}

// admit takes a channel slot, or reports that the channel must be refused.
//
// A channel the client has closed frees its slot, but the session goroutine
// may not have seen the close yet. When the limit is reached, admit asks
// every session goroutine to catch up before deciding, so that a client that
// has seen a channel closed can always open another.
func (c *conn) admit() bool {
	if ok, retry := c.tryAdmit(); ok || !retry {
		return ok
	}
	c.mu.Lock()
	sessions := slices.Collect(maps.Keys(c.sessions))
	c.mu.Unlock()
	for _, p := range sessions {
		ack := make(chan struct{})
		select {
		case p.probe <- ack:
			select {
			case <-ack:
			case <-p.closed:
			}
		case <-p.closed:
		}
	}
	ok, _ := c.tryAdmit()
	return ok
}

// tryAdmit takes a slot if one is free. Otherwise it reports whether
// catching up with closed channels could free one.
func (c *conn) tryAdmit() (ok, retry bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	o := c.srv.opts
	if o.NoReuseAfterClose && c.used {
		return false, false
	}
	if o.MaxChannelsPerConn > 0 && c.open >= o.MaxChannelsPerConn {
		return false, true
	}
	c.open++
	c.used = true
	return true, false
}

func (c *conn) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.open--
}

// probe lets the serve loop synchronise with a session goroutine.
type probe struct {
	probe  chan chan struct{} // a request to drain queued requests; closes the given channel when done
	closed chan struct{}      // closed once the session has freed its slot for good
}

func (c *conn) addSession() *probe {
	p := &probe{probe: make(chan chan struct{}), closed: make(chan struct{})}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sessions[p] = struct{}{}
	return p
}

func (c *conn) removeSession(p *probe) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.sessions, p)
}
