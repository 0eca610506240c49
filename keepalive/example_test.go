package keepalive_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/gitssh/gitssh/keepalive"
	"golang.org/x/crypto/ssh"
)

// The pattern for one pooled connection: the Monitor exists before the
// handshake so that it sees every byte from the server, Run has an owner
// that waits for it, and teardown cancels, closes, then waits.
func Example() {
	addr := "git.example.com:22"
	config := &ssh.ClientConfig{ /* user, auth, host key check */ }

	m := keepalive.New(keepalive.Config{Interval: 15 * time.Second, CountMax: 3})
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	conn, chans, reqs, err := ssh.NewClientConn(m.WrapConn(nc), addr, config)
	if err != nil {
		nc.Close()
		return
	}
	client := ssh.NewClient(conn, chans, reqs)

	ctx, cancel := context.WithCancel(context.Background())
	dead := make(chan error, 1) // read by the pool
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := m.Run(ctx, client); errors.Is(err, keepalive.ErrTimeout) {
			// Run has closed client. The pool takes it out at once, and
			// its sessions report "Timeout, server HOST not responding."
			dead <- err
		}
	})

	// ... open sessions on client ...

	cancel()
	client.Close()
	wg.Wait()
}
