package mux

import (
	"context"
	"errors"
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
