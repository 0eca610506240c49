//go:build unix

package mux

import (
	"errors"
	"testing"
	"time"

	"github.com/gitssh/gitssh/internal/sshtest"
	"github.com/gitssh/gitssh/internal/testworld"
	"github.com/gitssh/gitssh/keepalive"
)

// blackholedPool returns a pool whose commands go to srv through a
// blackhole proxy, with keepalives off: nothing but the pool itself can
// notice a dead connection.
func blackholedPool(t *testing.T, srv *sshtest.Server, connectTimeout time.Duration) (*testPool, *testworld.Blackhole) {
	t.Helper()
	bh, err := testworld.StartBlackhole(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	d := sshtestDest(t, srv)
	d.Port = bh.Port()
	d.ServerAliveInterval = 0
	d.ConnectTimeout = connectTimeout
	// The open path is the point: a warm channel would be taken instead,
	// on a connection heard from a moment ago (warm.go).
	p := newTestPoolFor(t, d, sshtestDialer(t, srv), nil, PoolConfig{NoWarmChannels: true})
	// Before the pool's cleanup: closing the proxy ends the handshakes
	// still waiting on it.
	t.Cleanup(func() { bh.Close() })
	return p, bh
}

// A command that finds the pool's idle connection dead (packets dropped,
// nothing closed) runs on a fresh connection: its channel open goes
// unanswered, and it moves rather than wait for a verdict.
func TestPoolMovesOffDeadConnection(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	p, bh := blackholedPool(t, srv, 0)
	ctx := testContext(t)
	if got := runInPool(ctx, p, "echo one"); got.status != 0 || got.err != nil {
		t.Fatalf("first command = %d, %v; want 0, nil", got.status, got.err)
	}
	bh.SetBlackhole(true) // the pooled connection is dead for good
	bh.SetBlackhole(false)

	got := runInPool(ctx, p, "echo two")
	if got.status != 0 || got.err != nil || got.stdout != "two\n" {
		t.Fatalf("command after the link died = %d, %v, %q; want 0, nil, %q", got.status, got.err, got.stdout, "two\n")
	}
	if n := srv.Accepted(); n != 2 {
		t.Errorf("server accepted %d connections, want 2", n)
	}
	if st := p.snapshot(); st.Conns != 1 {
		t.Errorf("pool has %d connections, want 1: the dead one is closed once a fresh one answered", st.Conns)
	}
	if got := runInPool(ctx, p, "echo three"); got.status != 0 || got.err != nil {
		t.Errorf("next command = %d, %v; want 0, nil", got.status, got.err)
	}
	if n := srv.Accepted(); n != 2 {
		t.Errorf("server accepted %d connections, want 2: the next command uses the fresh one", n)
	}
}

// When neither the dead connection nor a fresh one answers within
// ConnectTimeout, the command fails as OpenSSH does, without having
// started.
func TestPoolOpenTimesOut(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	p, bh := blackholedPool(t, srv, 300*time.Millisecond)
	ctx := testContext(t)
	if got := runInPool(ctx, p, "echo one"); got.status != 0 || got.err != nil {
		t.Fatalf("first command = %d, %v; want 0, nil", got.status, got.err)
	}
	bh.SetBlackhole(true) // and new connections are never forwarded

	got := runInPool(ctx, p, "echo two")
	lost, ok := errors.AsType[*ConnectionLostError](got.err)
	if got.status != ExitStatusLost || !ok || !errors.Is(lost, keepalive.ErrTimeout) {
		t.Fatalf("command over a dead link = %d, %v; want %d, a *ConnectionLostError wrapping keepalive.ErrTimeout", got.status, got.err, ExitStatusLost)
	}
	if want := "Timeout, server 127.0.0.1 not responding."; lost.Error() != want {
		t.Errorf("error = %q, want %q", lost.Error(), want)
	}
	if _, ok := errors.AsType[*notStartedError](got.err); !ok {
		t.Errorf("error %v is not a *notStartedError: the command had not started", got.err)
	}
	if n := len(srv.Execs()); n != 1 {
		t.Errorf("server ran %d commands, want 1", n)
	}
}
