package keepalive

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"
)

// RequestName is the global request keepalives are sent as, OpenSSH's.
const RequestName = "keepalive@openssh.com"

// DefaultCountMax is the CountMax used when Config.CountMax is zero,
// OpenSSH's default ServerAliveCountMax.
const DefaultCountMax = 3

// Conn is the part of an SSH connection keepalive needs.
// golang.org/x/crypto/ssh's *Client and Conn satisfy it.
//
// Close is part of it because a dead verdict must end the connection: it is
// the only way to unblock a keepalive stuck on a blackholed connection, and
// so to end the goroutine that sent it.
type Conn interface {
	SendRequest(name string, wantReply bool, payload []byte) (bool, []byte, error)
	Close() error
}

// Config is the ServerAlive configuration. The zero value sends no
// keepalives.
type Config struct {
	// Interval is how long the server may be silent before a keepalive is
	// sent (ServerAliveInterval). If zero or negative, no keepalives are
	// sent and the connection is never declared dead.
	Interval time.Duration

	// CountMax is how many keepalives in a row may go unanswered
	// (ServerAliveCountMax). If zero, DefaultCountMax (3) is used. A
	// negative value means what ServerAliveCountMax 0 means to OpenSSH: no
	// keepalive is sent, and the connection is dead after one Interval in
	// which nothing arrived.
	CountMax int
}

// ErrTimeout is the verdict that the server stopped responding. Run's error
// wraps it in a *TimeoutError.
var ErrTimeout = errors.New("keepalive: server not responding")

// TimeoutError is the dead verdict, with what led to it. It unwraps to
// ErrTimeout.
type TimeoutError struct {
	Unanswered int           // keepalives in a row without a reply or any traffic: CountMax
	Silence    time.Duration // time since the last packet or reply from the server
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("keepalive: server not responding: %d keepalives unanswered, silent for %v", e.Unanswered, e.Silence)
}

func (e *TimeoutError) Unwrap() error { return ErrTimeout }

// Monitor watches one connection. Create it with New before the SSH
// handshake if traffic is to be reported through WrapConn; then call Run
// once.
type Monitor struct {
	interval time.Duration
	countMax int
	epoch    time.Time // monotonic origin of last

	last    atomic.Int64  // time of the last sign of life, as a duration since epoch
	signs   atomic.Uint64 // how many signs of life so far
	running atomic.Bool
}

// New returns a Monitor for cfg.
func New(cfg Config) *Monitor {
	m := &Monitor{interval: cfg.Interval, countMax: cfg.CountMax, epoch: time.Now()}
	switch {
	case m.countMax == 0:
		m.countMax = DefaultCountMax
	case m.countMax < 0:
		m.countMax = 0
	}
	return m
}

// Run is New(cfg).Run(ctx, c), for callers that do not report traffic.
func Run(ctx context.Context, c Conn, cfg Config) error {
	return New(cfg).Run(ctx, c)
}

// Seen records a sign of life from the server: bytes received. Call it
// whenever the connection reads data (WrapConn does). It is cheap, never
// blocks, and is safe to call from any goroutine, before or during Run.
func (m *Monitor) Seen() {
	m.last.Store(int64(time.Since(m.epoch)))
	m.signs.Add(1)
}

// Silence is how long it has been since the last sign of life from the
// server (or since New, before any).
func (m *Monitor) Silence() time.Duration {
	return time.Since(m.epoch) - time.Duration(m.last.Load())
}

// Interval is the keepalive interval: a live server is heard from at
// least this often, and a round trip. Zero means no keepalives.
func (m *Monitor) Interval() time.Duration { return m.interval }

// WrapConn returns c with every successful Read reported to Seen. Wrap the
// transport connection under the SSH client, so that all traffic from the
// server counts, as it does in OpenSSH.
func (m *Monitor) WrapConn(c net.Conn) net.Conn {
	return &seenConn{Conn: c, m: m}
}

type seenConn struct {
	net.Conn
	m *Monitor
}

func (c *seenConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.m.Seen()
	}
	return n, err
}

// Run sends keepalives on c until ctx is done or the connection is dead. It
// may be called once.
//
// It returns nil when ctx is done. If the server stops responding it closes
// c and returns a *TimeoutError (errors.Is(err, ErrTimeout) holds). If a
// keepalive cannot be sent (the connection was closed or broke), it closes c
// and returns that error, wrapped. Whenever Run returns an error, it has
// closed c.
//
// Run returns only after the keepalive it has in flight, if any, has
// returned: no goroutine it started outlives it. On a dead verdict that is
// immediate, since closing c unblocks the keepalive. When ctx is done, a
// keepalive in flight returns with its reply, one round trip later, or when
// c is closed. A caller tearing down a connection therefore cancels ctx and
// closes c (in either order) before it waits for Run:
//
//	cancel()
//	client.Close()
//	wg.Wait() // the goroutine running Run
func (m *Monitor) Run(ctx context.Context, c Conn) error {
	if !m.running.CompareAndSwap(false, true) {
		return errors.New("keepalive: Run called twice")
	}
	if m.interval <= 0 {
		<-ctx.Done()
		return nil
	}
	m.Seen() // the connection has just been set up: the server is alive

	var (
		count     int           // keepalives due in a row without a sign of life
		signs     uint64        // m.signs at the last check
		lastCheck time.Duration // when the last keepalive was due
		inFlight  bool
		replies   = make(chan error, 1) // the in-flight keepalive's result
	)
	timer := time.NewTimer(m.interval)
	defer timer.Stop()

	// wait for the keepalive in flight, if any, before returning.
	finish := func(err error) error {
		if inFlight {
			<-replies
		}
		return err
	}
	for {
		// Like OpenSSH, the next keepalive is due an Interval after
		// the last packet from the server or the last keepalive,
		// whichever is later.
		due := max(time.Duration(m.last.Load()), lastCheck) + m.interval
		if wait := due - m.now(); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return finish(nil)
			case err := <-replies:
				inFlight = false
				if err != nil {
					if ctx.Err() != nil {
						return nil
					}
					c.Close()
					return fmt.Errorf("keepalive: %w", err)
				}
				// A reply is a sign of life: the sender called Seen.
			case <-timer.C:
			}
			continue
		}
		if ctx.Err() != nil {
			return finish(nil)
		}

		lastCheck = m.now()
		if s := m.signs.Load(); s != signs {
			signs = s
			count = 0
		}
		if count >= m.countMax {
			c.Close()
			return finish(&TimeoutError{
				Unanswered: count,
				Silence:    m.now() - time.Duration(m.last.Load()),
			})
		}
		count++
		if !inFlight {
			inFlight = true
			go func() {
				_, _, err := c.SendRequest(RequestName, true, nil)
				if err == nil {
					m.Seen()
				}
				replies <- err // never blocks: one keepalive in flight at most
			}()
		}
	}
}

func (m *Monitor) now() time.Duration { return time.Since(m.epoch) }
