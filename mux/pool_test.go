//go:build unix

package mux

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitssh/gitssh/config"
	"github.com/gitssh/gitssh/dial"
	"github.com/gitssh/gitssh/internal/sshtest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/crypto/ssh"
)

// testPool is a pool and the Destination its commands are run with.
type testPool struct {
	*pool
	dest config.Destination
}

// newTestPool returns a pool for srv that dials with dialFn (sshtestDialer
// if nil). Its connections are closed, and its goroutines have ended, when
// the test ends.
func newTestPool(t *testing.T, srv *sshtest.Server, dialFn DialFunc, limits *limitStore, cfg PoolConfig) *testPool {
	t.Helper()
	if dialFn == nil {
		dialFn = sshtestDialer(t, srv)
	}
	return newTestPoolFor(t, sshtestDest(t, srv), dialFn, limits, cfg)
}

// newTestPoolFor is newTestPool for commands to d.
func newTestPoolFor(t *testing.T, d config.Destination, dialFn DialFunc, limits *limitStore, cfg PoolConfig) *testPool {
	t.Helper()
	if limits == nil {
		limits = loadLimits("", nil)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	p := newPool(ctx, &wg, "test", d, cfg, dialFn, limits, failureLog(t))
	t.Cleanup(func() {
		cancel()
		p.closeAll()
		waitGoroutines(t, &wg, "the pool's")
	})
	return &testPool{pool: p, dest: d}
}

// failureLog returns a logger at debug level whose lines are shown only if
// the test fails.
func failureLog(t *testing.T) *slog.Logger {
	buf := new(lockedBuffer)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pool log:\n%s", buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// lockedBuffer is a bytes.Buffer for writers in several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitGoroutines waits for wg, and fails the test with the stacks of the
// goroutines still running in mux when they have not ended within
// testTimeout: a leak shows where it is, not as the package's timeout.
func waitGoroutines(t *testing.T, wg *sync.WaitGroup, whose string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(testTimeout):
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var stuck []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "gitssh/mux.") && !strings.Contains(g, "waitGoroutines") {
				stuck = append(stuck, g)
			}
		}
		t.Fatalf("%s goroutines did not end within %v:\n%s", whose, testTimeout, strings.Join(stuck, "\n\n"))
	}
}

// poolResult is one command's outcome through a pool.
type poolResult struct {
	status int
	err    error
	stdout string
}

func runInPool(ctx context.Context, p *testPool, line string) poolResult {
	var stdout bytes.Buffer
	status, err := p.run(ctx, p.dest, Command{Line: line, Stdout: &stdout, Stderr: io.Discard}, dial.Options{})
	return poolResult{status: status, err: err, stdout: stdout.String()}
}

// runBurst runs n copies of line through p at once and returns their
// results.
func runBurst(ctx context.Context, p *testPool, n int, line string) []poolResult {
	results := make([]poolResult, n)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i] = runInPool(ctx, p, line) })
	}
	wg.Wait()
	return results
}

func checkAllSucceeded(t *testing.T, line string, results []poolResult) {
	t.Helper()
	for i, r := range results {
		if r.status != 0 || r.err != nil {
			t.Errorf("command %d (%q) = %d, %v; want 0, nil", i, line, r.status, r.err)
		}
	}
}

// ignoreLearned leaves out when a limit was learned.
var ignoreLearned = cmpopts.IgnoreFields(serverLimits{}, "Learned")

func TestPoolLearnsChannelLimit(t *testing.T) {
	// Every command waits until all n run at once: with one channel per
	// connection the pool must learn the limit and spread them over n
	// connections, or they never end.
	const n = 12
	line := fmt.Sprintf("barrier %d", n)
	srv := sshtest.NewServer(t, sshtest.Options{MaxChannelsPerConn: 1})
	path := filepath.Join(t.TempDir(), "limits.json")
	// Refusals of commands are the point; warm channels have their own tests.
	p := newTestPool(t, srv, nil, loadLimits(path, nil), PoolConfig{NoWarmChannels: true})

	checkAllSucceeded(t, line, runBurst(testContext(t), p, n, line))
	if got := len(srv.Execs()); got != n {
		t.Errorf("server ran %d commands, want %d (a refused channel must not run twice, nor a started command again)", got, n)
	}
	if got := srv.MaxRunning(); got != n {
		t.Errorf("server ran at most %d commands at once, want %d", got, n)
	}
	if got := srv.Accepted(); got != n {
		t.Errorf("server accepted %d connections for %d commands at once, one channel each; want %d", got, n, n)
	}
	server := p.server
	if err := p.limits.save(); err != nil { // waits for a save in flight
		t.Fatal(err)
	}
	if diff := cmp.Diff(serverLimits{Channels: 1}, loadLimits(path, nil).get(server), ignoreLearned); diff != "" {
		t.Errorf("limits file for %s mismatch (-want +got):\n%s", server, diff)
	}
	st := p.snapshot()
	want := PoolStats{
		Destination: "git@sshtest",
		Key:         "test",
		Limit:       1,
		Commands:    n,
		Dials:       int64(srv.Accepted()),
		Refusals:    int64(srv.Refused()),
	}
	if diff := cmp.Diff(want, st, cmpopts.IgnoreFields(PoolStats{}, "Conns", "Since")); diff != "" {
		t.Errorf("pool stats mismatch (-want +got):\n%s", diff)
	}

	t.Run("a new pool starts with what was learned", func(t *testing.T) {
		refused := srv.Refused()
		p2 := newTestPool(t, srv, nil, loadLimits(path, nil), PoolConfig{})
		checkAllSucceeded(t, line, runBurst(testContext(t), p2, n, line))
		if got := srv.Refused() - refused; got != 0 {
			t.Errorf("server refused %d channels of a pool that knew the limit, want 0", got)
		}
		if got := p2.snapshot().Refusals; got != 0 {
			t.Errorf("pool counted %d refusals, want 0", got)
		}
	})
}

func TestPoolStaysWithinLimit(t *testing.T) {
	tests := []struct {
		name      string
		limit     int // the server's MaxChannelsPerConn
		commands  int
		wantConns int // at most
	}{
		{name: "sshd default", limit: 10, commands: 16, wantConns: 2},
		{name: "no limit", limit: 0, commands: 16, wantConns: 2},
		{name: "fits one connection", limit: 10, commands: 8, wantConns: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Every command waits until all run at once, so the pool
			// carries them all together, or they never end.
			line := fmt.Sprintf("barrier %d", tt.commands)
			srv := sshtest.NewServer(t, sshtest.Options{MaxChannelsPerConn: tt.limit})
			p := newTestPool(t, srv, nil, nil, PoolConfig{})
			checkAllSucceeded(t, line, runBurst(testContext(t), p, tt.commands, line))
			if got := srv.MaxRunning(); got != tt.commands {
				t.Errorf("server ran at most %d commands at once, want all %d", got, tt.commands)
			}
			if got := srv.Accepted(); got > tt.wantConns {
				t.Errorf("server accepted %d connections for %d commands, want at most %d", got, tt.commands, tt.wantConns)
			}
			if got := srv.Refused(); got != 0 {
				t.Errorf("server refused %d channels; want 0 (the pool put more on a connection than its limit)", got)
			}
			if got := len(srv.Execs()); got != tt.commands {
				t.Errorf("server ran %d commands, want %d", got, tt.commands)
			}
		})
	}
}

func TestPoolLearnsNoReuse(t *testing.T) {
	const n = 5
	srv := sshtest.NewServer(t, sshtest.Options{NoReuseAfterClose: true})
	limits := loadLimits(filepath.Join(t.TempDir(), "limits.json"), nil)
	p := newTestPool(t, srv, nil, limits, PoolConfig{NoWarmChannels: true})
	ctx := testContext(t)
	for i := range n {
		if got := runInPool(ctx, p, "echo hi"); got.status != 0 || got.err != nil || got.stdout != "hi\n" {
			t.Fatalf("command %d = %d, %v, %q; want 0, nil, %q", i, got.status, got.err, got.stdout, "hi\n")
		}
	}
	if diff := cmp.Diff(serverLimits{NoReuse: true}, limits.get(p.server), ignoreLearned); diff != "" {
		t.Errorf("learned limits mismatch (-want +got):\n%s", diff)
	}
	// Only the first reuse is tried, and refused unsureRefusals+1 times: a
	// refusal with nothing open could be a server still freeing the closed
	// channel (sshd under load), so it takes several in a row, with pauses.
	// Later commands get a connection of their own at once.
	if got := srv.Refused(); got != unsureRefusals+1 {
		t.Errorf("server refused %d channels, want %d", got, unsureRefusals+1)
	}
	if got, want := srv.Accepted(), n; got != want {
		t.Errorf("server accepted %d connections, want %d", got, want)
	}
	want := PoolStats{
		Destination: "git@sshtest",
		Key:         "test",
		NoReuse:     true,
		Commands:    n,
		Dials:       n,
		Refusals:    unsureRefusals + 1,
		BytesIn:     n * int64(len("hi\n")),
	}
	if diff := cmp.Diff(want, p.snapshot(), cmpopts.IgnoreFields(PoolStats{}, "Conns", "Since")); diff != "" {
		t.Errorf("pool stats mismatch (-want +got):\n%s", diff)
	}
}

func TestPoolReplacesDroppedConnection(t *testing.T) {
	tests := []struct {
		name        string
		waitNoticed bool // wait until the connection's end is noticed
	}{
		{name: "end noticed before the next command", waitNoticed: true},
		{name: "end not yet noticed", waitNoticed: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := sshtest.NewServer(t, sshtest.Options{})
			p := newTestPool(t, srv, nil, nil, PoolConfig{})
			ctx := testContext(t)
			if got := runInPool(ctx, p, "echo one"); got.status != 0 || got.err != nil {
				t.Fatalf("first command = %d, %v; want 0, nil", got.status, got.err)
			}
			p.mu.Lock()
			first := p.conns[0].conn
			p.mu.Unlock()
			srv.DropConns()
			if tt.waitNoticed {
				select {
				case <-first.done:
				case <-ctx.Done():
					t.Fatal("the dropped connection's end was never noticed")
				}
			}
			if got := runInPool(ctx, p, "echo two"); got.status != 0 || got.err != nil || got.stdout != "two\n" {
				t.Fatalf("command after the drop = %d, %v, %q; want 0, nil, %q", got.status, got.err, got.stdout, "two\n")
			}
			execs := srv.Execs()
			if len(execs) != 2 || execs[1].Conn != 2 {
				t.Errorf("server execs = %+v; want the second command on connection 2", execs)
			}
		})
	}
}

// countingDialer returns a DialFunc that counts its calls and returns
// fail(call) for the calls where it is not nil, and a real connection to srv
// otherwise.
func countingDialer(t *testing.T, srv *sshtest.Server, calls *atomic.Int32, fail func(call int32) error) DialFunc {
	dialReal := sshtestDialer(t, srv)
	return func(ctx context.Context, d config.Destination, opts dial.Options) (*ssh.Client, error) {
		n := calls.Add(1)
		if err := fail(n); err != nil {
			return nil, err
		}
		return dialReal(ctx, d, opts)
	}
}

func TestPoolDialRetries(t *testing.T) {
	beforeKex := &dial.HandshakeError{Host: "127.0.0.1", Port: "22", BeforeKex: true, Err: io.EOF}
	afterKex := &dial.HandshakeError{Host: "127.0.0.1", Port: "22", Err: errors.New("kex failed")}
	tests := []struct {
		name      string
		fail      func(call int32) error
		wantErr   error // nil: the command succeeds
		wantCalls int32
	}{
		{
			name: "broken off before key exchange twice",
			fail: func(call int32) error {
				if call <= 2 {
					return beforeKex
				}
				return nil
			},
			wantCalls: 3,
		},
		{
			name:      "broken off every time",
			fail:      func(int32) error { return beforeKex },
			wantErr:   beforeKex,
			wantCalls: 4, // DialAttempts
		},
		{
			name:      "failed after key exchange",
			fail:      func(int32) error { return afterKex },
			wantErr:   afterKex,
			wantCalls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := sshtest.NewServer(t, sshtest.Options{})
			var calls atomic.Int32
			p := newTestPool(t, srv, countingDialer(t, srv, &calls, tt.fail), nil, PoolConfig{DialAttempts: 4, Backoff: time.Millisecond})
			got := runInPool(testContext(t), p, "exit 0")
			if tt.wantErr == nil {
				if got.status != 0 || got.err != nil {
					t.Errorf("command = %d, %v; want 0, nil", got.status, got.err)
				}
			} else if got.status != ExitStatusLost || !errors.Is(got.err, tt.wantErr) {
				t.Errorf("command = %d, %v; want %d, %v", got.status, got.err, ExitStatusLost, tt.wantErr)
			}
			if n := calls.Load(); n != tt.wantCalls {
				t.Errorf("dialled %d times, want %d", n, tt.wantCalls)
			}
			st := p.snapshot()
			wantErrors := int64(0)
			if tt.wantErr != nil {
				wantErrors = 1
			}
			if st.Dials != 1 || st.DialErrors != wantErrors {
				t.Errorf("pool stats: %d dials, %d dial errors; want 1, %d", st.Dials, st.DialErrors, wantErrors)
			}
		})
	}
}

func TestPoolAuthErrorFailsEveryWaiter(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	authErr := &dial.AuthError{User: "git", Host: "127.0.0.1", Methods: []string{"publickey"}}
	var calls atomic.Int32
	entered := make(chan struct{}, 1)
	proceed := make(chan struct{})
	dialFn := func(ctx context.Context, d config.Destination, opts dial.Options) (*ssh.Client, error) {
		calls.Add(1)
		select {
		case entered <- struct{}{}:
		default:
		}
		<-proceed
		return nil, authErr
	}
	p := newTestPool(t, srv, dialFn, nil, PoolConfig{})
	ctx := testContext(t)

	results := make([]poolResult, 2)
	var wg sync.WaitGroup
	wg.Go(func() { results[0] = runInPool(ctx, p, "exit 0") })
	<-entered
	wg.Go(func() { results[1] = runInPool(ctx, p, "exit 0") })
	waitFor(t, "both commands to wait for the dial", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.waiters) == 2
	})
	close(proceed)
	wg.Wait()

	for i, r := range results {
		if got, ok := errors.AsType[*dial.AuthError](r.err); !ok || got != authErr || r.status != ExitStatusLost {
			t.Errorf("command %d = %d, %v; want %d, the dial's *dial.AuthError", i, r.status, r.err, ExitStatusLost)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("dialled %d times, want 1 (an authentication failure is not retried)", n)
	}
	if n := srv.Accepted(); n != 0 {
		t.Errorf("server accepted %d connections, want 0", n)
	}
}

func TestPoolWaitCancelled(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{MaxChannelsPerConn: 1})
	limits := loadLimits("", nil)
	p := newTestPool(t, srv, nil, limits, PoolConfig{MaxConns: 1})
	limits.learn(p.server, func(l *serverLimits) { l.Channels = 1 })

	holdCtx, stopHold := context.WithCancel(testContext(t))
	var holder poolResult
	var wg sync.WaitGroup
	wg.Go(func() { holder = runInPool(holdCtx, p, "hang") })
	t.Cleanup(func() { stopHold(); wg.Wait() })
	waitFor(t, "the first command to start", func() bool { return len(srv.Execs()) == 1 })

	ctx, cancel := context.WithCancel(testContext(t))
	var waiter poolResult
	wg.Go(func() { waiter = runInPool(ctx, p, "exit 0") })
	waitFor(t, "the second command to wait for a slot", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.waiters) == 1
	})
	cancel()
	stopHold()
	wg.Wait()

	for name, r := range map[string]poolResult{"waiting": waiter, "running": holder} {
		if r.status != ExitStatusLost || !errors.Is(r.err, context.Canceled) {
			t.Errorf("cancelled %s command = %d, %v; want %d, context.Canceled", name, r.status, r.err, ExitStatusLost)
		}
	}
	if diff := cmp.Diff([]string{"hang"}, execsOf(srv)); diff != "" {
		t.Errorf("server execs mismatch (-want +got):\n%s", diff)
	}
	if n := srv.Accepted(); n != 1 {
		t.Errorf("server accepted %d connections, want 1 (MaxConns)", n)
	}
}

func TestPoolCountsBytes(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	p := newTestPool(t, srv, nil, nil, PoolConfig{})
	ctx := testContext(t)
	in := bytes.Repeat([]byte("x"), 1000)
	var out bytes.Buffer
	status, err := p.run(ctx, p.dest, Command{Line: "cat", Stdin: bytes.NewReader(in), Stdout: &out, Stderr: io.Discard}, dial.Options{})
	if status != 0 || err != nil || out.Len() != len(in) {
		t.Fatalf("cat = %d, %v, %d bytes; want 0, nil, %d bytes", status, err, out.Len(), len(in))
	}
	if got := runInPool(ctx, p, "stderr abc"); got.status != 0 || got.err != nil {
		t.Fatalf("stderr abc = %d, %v; want 0, nil", got.status, got.err)
	}
	st := p.snapshot()
	if got, want := fmt.Sprint(st.Commands, st.Dials, st.BytesOut, st.BytesIn), fmt.Sprint(2, 1, 1000, 1000+len("abc\n")); got != want {
		t.Errorf("pool stats commands, dials, bytes out, bytes in = %s; want %s", got, want)
	}
}

// TestPoolLearnsFromRefusalRaces replays, step by step, what p.run does
// for two commands that share a connection to a one-channel server, in
// orders that concurrent short commands (exit 0) produce end to end a few
// times in a hundred: the refusal is handled after the channel that caused
// it has ended, or the two opens reach the server in the other order than
// the slots were reserved. Either way the server does reuse connections and
// its limit is 1.
func TestPoolLearnsFromRefusalRaces(t *testing.T) {
	tests := []struct {
		name string
		// refusedFirst: the refused command reserved its slot first, and
		// its open reached the server second.
		refusedFirst bool
		// blockerEnds: the open channel ends before the refusal is
		// handled.
		blockerEnds bool
	}{
		{name: "refusal handled after the open channel ended", blockerEnds: true},
		{name: "opens reach the server in the other order", refusedFirst: true},
		{name: "both", refusedFirst: true, blockerEnds: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := sshtest.NewServer(t, sshtest.Options{MaxChannelsPerConn: 1})
			limits := loadLimits("", nil)
			p := newTestPool(t, srv, nil, limits, PoolConfig{NoWarmChannels: true})
			ctx := testContext(t)

			first, firstMark, _, err := p.acquire(ctx, p.dest, dial.Options{}, false)
			if err != nil {
				t.Fatal(err)
			}
			second, secondMark, _, err := p.acquire(ctx, p.dest, dial.Options{}, false)
			if err != nil {
				t.Fatal(err)
			}
			if first != second {
				t.Fatalf("the two commands got different connections; want the only one")
			}
			holder, refused, refusedMark := first, second, secondMark
			if tt.refusedFirst {
				holder, refused, refusedMark = second, first, firstMark
			}
			held, err := holder.client.NewSession() // the holder's channel, open on the server
			if err != nil {
				t.Fatal(err)
			}
			_, err = runSession(ctx, refused.conn, Command{Line: "exit 0", Stdout: io.Discard, Stderr: io.Discard})
			oe, ok := errors.AsType[*openError](err)
			if !ok {
				t.Fatalf("refused runSession error = %v; want an *openError", err)
			}
			endHolder := func() {
				held.Close()
				p.release(holder)
			}
			if tt.blockerEnds {
				endHolder()
			}
			p.openFailed(refused, refusedMark, oe)
			if !tt.blockerEnds {
				endHolder()
			}

			// A refusal is only learned from while the channel that caused
			// it is still open; once it has ended, the refusal cannot be told
			// from a server still counting a closed channel, and nothing is
			// learned (the next real refusal teaches the limit).
			want := serverLimits{Channels: 1}
			if tt.blockerEnds {
				want = serverLimits{}
			}
			if diff := cmp.Diff(want, limits.get(p.server), ignoreLearned); diff != "" {
				t.Errorf("learned limits mismatch (-want +got):\n%s", diff)
			}
			if got := runInPool(ctx, p, "exit 0"); got.status != 0 || got.err != nil {
				t.Fatalf("next command = %d, %v; want 0, nil", got.status, got.err)
			}
			if n := srv.Accepted(); n != 1 {
				t.Errorf("server accepted %d connections, want 1: the connection was given up for a refusal that another channel caused", n)
			}
		})
	}
}
