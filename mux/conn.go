package mux

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/gitssh/gitssh/config"
	"github.com/gitssh/gitssh/dial"
	"github.com/gitssh/gitssh/keepalive"
	"golang.org/x/crypto/ssh"
)

// conn is one authenticated SSH connection, kept alive by keepalives, and
// the knowledge of whether it still is.
type conn struct {
	client *ssh.Client
	host   string             // for messages: the Destination's HostName
	mon    *keepalive.Monitor // what was last heard from the server
	// channelKeepalive is how long a command's channel may be silent
	// before a keepalive@openssh.com channel request is sent on it, for
	// servers whose idle timer ignores global requests (dropbear's -I):
	// ServerAliveInterval, or 0 (none) when keepalives are off.
	channelKeepalive time.Duration

	done  chan struct{} // closed when the connection has ended
	once  sync.Once
	err   error     // why it ended; read after done is closed
	ended time.Time // when it ended; read after done is closed
}

// dialConn dials d and starts watching the connection: its keepalives
// (ServerAliveInterval, ServerAliveCountMax) and its end. Both goroutines
// end when the connection does; close ends it.
func dialConn(ctx context.Context, dialFn DialFunc, d config.Destination, opts dial.Options) (*conn, error) {
	countMax := d.ServerAliveCountMax
	if countMax == 0 {
		countMax = -1 // ServerAliveCountMax 0: dead after one silent interval
	}
	mon := keepalive.New(keepalive.Config{Interval: d.ServerAliveInterval, CountMax: countMax})
	wrap := opts.WrapConn
	opts.WrapConn = func(nc net.Conn) net.Conn {
		if wrap != nil {
			nc = wrap(nc)
		}
		return mon.WrapConn(nc)
	}
	client, err := dialFn(ctx, d, opts)
	if err != nil {
		return nil, err
	}
	c := &conn{client: client, host: d.HostName, mon: mon, done: make(chan struct{})}
	if d.ServerAliveCountMax != 0 {
		// ServerAliveCountMax 0 sends no keepalive at all.
		c.channelKeepalive = d.ServerAliveInterval
	}
	kaCtx, stopKeepalive := context.WithCancel(context.Background())
	kaDone := make(chan error, 1)
	go func() {
		kaDone <- mon.Run(kaCtx, client)
	}()
	go func() {
		err := client.Wait()
		stopKeepalive()
		// A keepalive verdict closed the connection: that is why it ended.
		if kaErr := <-kaDone; errors.Is(kaErr, keepalive.ErrTimeout) {
			err = kaErr
		}
		c.finish(err)
	}()
	return c, nil
}

func (c *conn) finish(err error) {
	c.once.Do(func() {
		c.err, c.ended = err, time.Now()
		close(c.done)
	})
}

// alive reports whether the connection has not ended yet.
func (c *conn) alive() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// close ends the connection and waits for its watchers.
func (c *conn) close() {
	c.client.Close()
	<-c.done
}

// newSession opens a session channel on c. x/crypto's NewSession can wait
// forever when the connection ends just as the open is sent (the channel
// is registered after the connection dropped its channels, so nothing
// ever ends the wait; seen in TestPoolOneSessionPerConnection under load),
// so an open still unanswered when c has ended is given up as failed. A
// session that opens after all is closed; the goroutine waiting for it is
// not the pool's, so that it holds up no shutdown.
func (c *conn) newSession() (*ssh.Session, error) {
	type opened struct {
		s   *ssh.Session
		err error
	}
	result := make(chan opened, 1)
	go func() {
		s, err := c.client.NewSession()
		result <- opened{s, err}
	}()
	select {
	case r := <-result:
		return r.s, r.err
	case <-c.done:
	}
	select {
	case r := <-result:
		return r.s, r.err
	default:
	}
	go func() {
		if r := <-result; r.s != nil {
			r.s.Close()
		}
	}()
	return nil, fmt.Errorf("open session: %w", errConnEnded)
}

// errConnEnded is a channel open given up because its connection ended
// before the server answered it.
var errConnEnded = errors.New("mux: the connection ended")
