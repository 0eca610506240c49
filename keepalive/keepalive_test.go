package keepalive_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gitssh/gitssh/keepalive"
	"github.com/google/go-cmp/cmp"
)

// fakeConn is a Conn whose server answers keepalives as told. Every way of
// not answering blocks until Close, as x/crypto's SendRequest does.
type fakeConn struct {
	answer answer
	delay  time.Duration // for replyOK: how long the reply takes
	start  time.Time

	closed    chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex // guards the fields that follow
	sent     []time.Duration
	closedAt time.Duration
	bad      []string // malformed requests
}

type answer int

const (
	replyOK      answer = iota // SSH_MSG_REQUEST_SUCCESS
	replyFailure               // SSH_MSG_REQUEST_FAILURE, as OpenSSH's sshd sends
	noReply                    // the request is written, the reply never comes
	stuckWrite                 // the write itself never completes (blackholed link)
	sendError                  // the connection is broken: the write fails
)

func newFakeConn(a answer, delay time.Duration) *fakeConn {
	return &fakeConn{answer: a, delay: delay, start: time.Now(), closed: make(chan struct{}), closedAt: -1}
}

func (f *fakeConn) SendRequest(name string, wantReply bool, payload []byte) (bool, []byte, error) {
	f.mu.Lock()
	if name != keepalive.RequestName || !wantReply || len(payload) != 0 {
		f.bad = append(f.bad, name)
	}
	if f.answer != stuckWrite {
		f.sent = append(f.sent, time.Since(f.start))
	}
	f.mu.Unlock()
	switch f.answer {
	case replyOK, replyFailure:
		if f.delay > 0 {
			select {
			case <-time.After(f.delay):
			case <-f.closed:
				return false, nil, io.EOF
			}
		}
		return f.answer == replyOK, nil, nil
	case sendError:
		return false, nil, io.ErrClosedPipe
	default:
		<-f.closed
		return false, nil, io.EOF
	}
}

func (f *fakeConn) Close() error {
	f.closeOnce.Do(func() {
		f.mu.Lock()
		f.closedAt = time.Since(f.start)
		f.mu.Unlock()
		close(f.closed)
	})
	return nil
}

func (f *fakeConn) record() (sent []time.Duration, closedAt time.Duration, bad []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sent...), f.closedAt, f.bad
}

func secs(ss ...int) []time.Duration {
	var ds []time.Duration
	for _, s := range ss {
		ds = append(ds, time.Duration(s)*time.Second)
	}
	return ds
}

// TestRun checks the timing of keepalives and of the dead verdict against
// OpenSSH's server_alive_check, with Interval 10s. Each case runs for at
// most 97s of fake time; then the test tears the connection down as the
// package doc says (cancel ctx, close the connection).
func TestRun(t *testing.T) {
	const horizon = 97 * time.Second
	tests := []struct {
		name     string
		countMax int
		answer   answer
		delay    time.Duration
		traffic  []time.Duration // when the server sends data (Seen)
		// wantDead is when Run returns a *TimeoutError and closes the
		// connection; 0 means it stays alive until the horizon.
		wantDead time.Duration
		wantSent []time.Duration
	}{
		{
			name:     "success replies keep it alive",
			answer:   replyOK,
			wantSent: secs(10, 20, 30, 40, 50, 60, 70, 80, 90),
		},
		{
			name:     "failure replies count as alive",
			answer:   replyFailure,
			wantSent: secs(10, 20, 30, 40, 50, 60, 70, 80, 90),
		},
		{
			name:     "replies slower than the interval count",
			answer:   replyOK,
			delay:    15 * time.Second,
			wantSent: secs(10, 35, 60, 85), // the next one is due 10s after each reply
		},
		{
			name:     "no reply: dead after CountMax+1 intervals",
			answer:   noReply,
			wantDead: 40 * time.Second,
			wantSent: secs(10), // the others would queue behind it in x/crypto
		},
		{
			name:     "blackholed write: dead on time",
			answer:   stuckWrite,
			wantDead: 40 * time.Second,
		},
		{
			name:     "CountMax 1",
			countMax: 1,
			answer:   noReply,
			wantDead: 20 * time.Second,
			wantSent: secs(10),
		},
		{
			name:     "negative CountMax is OpenSSH's 0: dead after one silent interval, nothing sent",
			countMax: -1,
			answer:   noReply,
			wantDead: 10 * time.Second,
		},
		{
			name:    "traffic keeps a server that ignores keepalives alive",
			answer:  noReply,
			traffic: everyUntil(4*time.Second, horizon),
		},
		{
			name:     "traffic slower than the interval resets the count",
			answer:   noReply,
			traffic:  everyUntil(25*time.Second, horizon), // 25s, 50s, 75s
			wantSent: secs(10),                            // the keepalive stays in flight
		},
		{
			name:     "dead CountMax+1 intervals after the last traffic",
			answer:   noReply,
			traffic:  everyUntil(4*time.Second, 48*time.Second), // last at 48s
			wantDead: 88 * time.Second,
			wantSent: secs(58),
		},
		{
			// 10s and 20s unanswered; traffic at 25s resets the count,
			// so the verdict comes 40s later (at 65s), not at 45s.
			name:     "traffic resets the count of unanswered keepalives",
			answer:   noReply,
			traffic:  secs(25),
			wantDead: 65 * time.Second,
			wantSent: secs(10),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				conn := newFakeConn(tt.answer, tt.delay)
				m := keepalive.New(keepalive.Config{Interval: 10 * time.Second, CountMax: tt.countMax})
				ctx, cancel := context.WithTimeout(t.Context(), horizon)
				defer cancel()
				context.AfterFunc(ctx, func() { conn.Close() })
				go func() {
					for _, at := range tt.traffic {
						select {
						case <-time.After(at - time.Since(conn.start)):
							m.Seen()
						case <-ctx.Done():
							return
						}
					}
				}()

				err := m.Run(ctx, conn)
				elapsed := time.Since(conn.start)
				synctest.Wait() // for the teardown's Close
				sent, closedAt, bad := conn.record()

				if tt.wantDead == 0 {
					if err != nil || elapsed != horizon {
						t.Errorf("Run = %v after %v, want nil after %v", err, elapsed, horizon)
					}
					if closedAt != horizon {
						t.Errorf("connection closed at %v; want it left open until the teardown at %v", closedAt, horizon)
					}
				} else {
					var te *keepalive.TimeoutError
					if !errors.Is(err, keepalive.ErrTimeout) || !errors.As(err, &te) {
						t.Fatalf("Run = %v, want a *TimeoutError", err)
					}
					if elapsed != tt.wantDead || closedAt != tt.wantDead {
						t.Errorf("dead after %v, connection closed at %v; want both at %v", elapsed, closedAt, tt.wantDead)
					}
					last := time.Duration(0)
					if n := len(tt.traffic); n > 0 {
						last = tt.traffic[n-1]
					}
					want := keepalive.TimeoutError{Unanswered: max(tt.countMax, 0), Silence: tt.wantDead - last}
					if tt.countMax == 0 {
						want.Unanswered = keepalive.DefaultCountMax
					}
					if diff := cmp.Diff(want, *te); diff != "" {
						t.Errorf("TimeoutError mismatch (-want +got):\n%s", diff)
					}
				}
				if diff := cmp.Diff(tt.wantSent, sent); diff != "" {
					t.Errorf("keepalives sent at (-want +got):\n%s", diff)
				}
				if len(bad) > 0 {
					t.Errorf("malformed requests: %q", bad)
				}
			})
		})
	}
}

func everyUntil(every, until time.Duration) []time.Duration {
	var ds []time.Duration
	for at := every; at <= until; at += every {
		ds = append(ds, at)
	}
	return ds
}

func TestDisabled(t *testing.T) {
	for _, interval := range []time.Duration{0, -time.Second} {
		synctest.Test(t, func(t *testing.T) {
			conn := newFakeConn(noReply, 0)
			ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
			defer cancel()
			if err := keepalive.Run(ctx, conn, keepalive.Config{Interval: interval}); err != nil {
				t.Errorf("Run with Interval %v = %v, want nil", interval, err)
			}
			if sent, closedAt, _ := conn.record(); len(sent) > 0 || closedAt >= 0 {
				t.Errorf("Interval %v: sent %v, closed at %v; want nothing", interval, sent, closedAt)
			}
		})
	}
}

// TestCancel checks that Run returns nil as soon as ctx is done, and waits
// for a keepalive in flight until the caller closes the connection.
func TestCancel(t *testing.T) {
	tests := []struct {
		name       string
		answer     answer
		cancelAt   time.Duration
		wantReturn bool // before the connection is closed
	}{
		{name: "idle", answer: noReply, cancelAt: 5 * time.Second, wantReturn: true},
		{name: "after a reply", answer: replyFailure, cancelAt: 15 * time.Second, wantReturn: true},
		{name: "keepalive in flight", answer: noReply, cancelAt: 15 * time.Second},
		{name: "blackholed keepalive in flight", answer: stuckWrite, cancelAt: 15 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				conn := newFakeConn(tt.answer, 0)
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error, 1)
				go func() { done <- keepalive.Run(ctx, conn, keepalive.Config{Interval: 10 * time.Second}) }()
				time.Sleep(tt.cancelAt)
				cancel()
				synctest.Wait()
				select {
				case err := <-done:
					if !tt.wantReturn {
						t.Fatalf("Run returned %v with a keepalive in flight", err)
					}
					if err != nil {
						t.Errorf("Run = %v, want nil", err)
					}
				default:
					if tt.wantReturn {
						t.Fatal("Run did not return when ctx was done")
					}
					conn.Close() // the documented teardown: cancel, close, wait
					if err := <-done; err != nil {
						t.Errorf("Run = %v, want nil", err)
					}
				}
				if got := time.Since(conn.start); got != tt.cancelAt {
					t.Errorf("Run returned after %v, want %v", got, tt.cancelAt)
				}
				if _, closedAt, _ := conn.record(); tt.wantReturn && closedAt >= 0 {
					t.Errorf("Run closed the connection on cancel")
				}
			})
		})
	}
}

func TestSendError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conn := newFakeConn(sendError, 0)
		err := keepalive.Run(t.Context(), conn, keepalive.Config{Interval: 10 * time.Second})
		if err == nil || errors.Is(err, keepalive.ErrTimeout) || !errors.Is(err, io.ErrClosedPipe) {
			t.Errorf("Run = %v, want the send error, not ErrTimeout", err)
		}
		if _, closedAt, _ := conn.record(); closedAt != 10*time.Second {
			t.Errorf("connection closed at %v, want 10s", closedAt)
		}
	})
}

func TestRunTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := keepalive.New(keepalive.Config{})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := m.Run(ctx, newFakeConn(replyOK, 0)); err != nil {
			t.Fatalf("first Run = %v", err)
		}
		if err := m.Run(ctx, newFakeConn(replyOK, 0)); err == nil {
			t.Error("second Run = nil, want an error")
		}
	})
}

// TestWrapConn checks that bytes read through WrapConn count as traffic: a
// server that ignores keepalives but sends data every 4s stays alive, and is
// dead 40s after it stops.
func TestWrapConn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conn := newFakeConn(noReply, 0)
		m := keepalive.New(keepalive.Config{Interval: 10 * time.Second})
		server, client := net.Pipe()
		wrapped := m.WrapConn(client)
		go func() { // the server: a byte every 4s for 60s
			defer server.Close()
			for range 15 {
				time.Sleep(4 * time.Second)
				server.Write([]byte{0})
			}
		}()
		go io.Copy(io.Discard, wrapped) // the SSH client's reader
		err := m.Run(t.Context(), conn)
		if !errors.Is(err, keepalive.ErrTimeout) {
			t.Fatalf("Run = %v, want ErrTimeout", err)
		}
		if got, want := time.Since(conn.start), 100*time.Second; got != want {
			t.Errorf("dead after %v, want %v (last byte at 60s)", got, want)
		}
		wrapped.Close()
	})
}

func TestTimeoutError(t *testing.T) {
	var err error = &keepalive.TimeoutError{Unanswered: 3, Silence: 40 * time.Second}
	if !errors.Is(err, keepalive.ErrTimeout) {
		t.Error("TimeoutError is not ErrTimeout")
	}
	if got, want := err.Error(), "keepalive: server not responding: 3 keepalives unanswered, silent for 40s"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
