//go:build unix

package mux

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gitssh/gitssh/dial"
	"github.com/gitssh/gitssh/internal/sshtest"
)

// TestPoolOneSessionPerConnection runs commands against a server that ends
// the connection when its first session ends and takes one channel at a
// time (tinysshd): nothing fails, and the fact is learned.
func TestPoolOneSessionPerConnection(t *testing.T) {
	const (
		n, parallel = 32, 8
		line        = "echo hi"
	)
	srv := sshtest.NewServer(t, sshtest.Options{CloseAfterFirstSession: true, MaxChannelsPerConn: 1})
	path := filepath.Join(t.TempDir(), "limits.json")
	p := newTestPool(t, srv, nil, loadLimits(path, nil), PoolConfig{})
	ctx := testContext(t)

	results := make([]poolResult, n)
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range results {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			results[i] = runInPool(ctx, p, line)
		})
	}
	wg.Wait()
	for i, r := range results {
		if r.status != 0 || r.err != nil || r.stdout != "hi\n" {
			t.Errorf("command %d = %d, %v, %q; want 0, nil, %q", i, r.status, r.err, r.stdout, "hi\n")
		}
	}
	if got := len(srv.Execs()); got < n {
		t.Errorf("server ran %d commands, want at least %d", got, n)
	}
	if got := loadLimits(path, nil).get(p.server); !got.OneSession {
		t.Errorf("limits file for %s = %+v, want OneSession", p.server, got)
	}
	if st := p.snapshot(); !st.OneSession {
		t.Errorf("pool stats = %+v, want OneSession", st)
	}

	t.Run("a pool that knows it gives each command its own connection", func(t *testing.T) {
		p2 := newTestPool(t, srv, nil, loadLimits(path, nil), PoolConfig{})
		for i := range 4 {
			if r := runInPool(ctx, p2, line); r.status != 0 || r.err != nil {
				t.Fatalf("command %d = %d, %v; want 0, nil", i, r.status, r.err)
			}
		}
		if st := p2.snapshot(); st.Redelivered != 0 || st.Refusals != 0 {
			t.Errorf("pool stats = %+v, want no command run again and no refusal", st)
		}
	})
}

// TestPoolNeverReplaysDeliveredCommand: a command that has sent a byte of
// its stdin is not run again when its connection ends.
func TestPoolNeverReplaysDeliveredCommand(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	p := newTestPool(t, srv, nil, nil, PoolConfig{})
	var stdout bytes.Buffer
	cmd := Command{Line: "readdrop 5", Stdin: strings.NewReader("hello"), Stdout: &stdout, Stderr: io.Discard}
	status, err := p.run(testContext(t), p.dest, cmd, dial.Options{})
	lost, ok := errors.AsType[*ConnectionLostError](err)
	if status != ExitStatusLost || !ok {
		t.Fatalf("run(readdrop 5) = %d, %v; want %d, *ConnectionLostError", status, err, ExitStatusLost)
	}
	if want := "Connection to 127.0.0.1 closed by remote host."; lost.Error() != want {
		t.Errorf("error = %q, want %q", lost.Error(), want)
	}
	if got := execsOf(srv); len(got) != 1 {
		t.Errorf("server ran %q, want the command once", got)
	}
}

// TestPoolRedeliversUntouchedCommand: a command whose connection ended
// before a byte crossed it runs again on another connection, with the stdin
// it had read but not delivered.
func TestPoolRedeliversUntouchedCommand(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{CloseAfterFirstSession: true})
	// Without warm channels: one opened ahead on the ending connection
	// takes the next command's exec and stdin at once, before the end is
	// seen, and a command that sent a byte is (rightly) not run again.
	p := newTestPool(t, srv, nil, nil, PoolConfig{NoWarmChannels: true})
	ctx := testContext(t)
	if r := runInPool(ctx, p, "echo first"); r.status != 0 || r.err != nil {
		t.Fatalf("first command = %d, %v", r.status, r.err)
	}
	// The connection is ending; the next command may be caught on it.
	for i := range 20 {
		var stdout bytes.Buffer
		cmd := Command{Line: "cat", Stdin: strings.NewReader("hello"), Stdout: &stdout, Stderr: io.Discard}
		status, err := p.run(ctx, p.dest, cmd, dial.Options{})
		if status != 0 || err != nil || stdout.String() != "hello" {
			t.Fatalf("command %d = %d, %v, %q; want 0, nil, %q", i, status, err, stdout.String(), "hello")
		}
	}
}
