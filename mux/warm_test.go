//go:build unix

package mux

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitssh/gitssh/dial"
	"github.com/gitssh/gitssh/internal/sshtest"
)

// TestWarmChannelCarriesNextCommand: once a connection is up it holds a
// channel opened ahead, and the next command runs on it, on the same
// connection.
func TestWarmChannelCarriesNextCommand(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	p := newTestPool(t, srv, nil, nil, PoolConfig{})
	ctx := testContext(t)
	if got := runInPool(ctx, p, "echo one"); got.status != 0 || got.err != nil {
		t.Fatalf("first command = %+v", got)
	}
	waitFor(t, "a warm channel", func() bool { return p.snapshot().WarmOpen == 1 })
	var debug, stdout bytes.Buffer
	cmd := Command{Line: "echo two", Stdout: &stdout, Stderr: io.Discard, Debugf: func(f string, a ...any) { fmt.Fprintf(&debug, f+"\n", a...) }}
	if status, err := p.run(ctx, p.dest, cmd, dial.Options{}); status != 0 || err != nil || stdout.String() != "two\n" {
		t.Fatalf("command on the warm channel = %d, %v, %q", status, err, stdout.String())
	}
	if !strings.Contains(debug.String(), "running on a warm channel") {
		t.Errorf("debug output %q does not say the warm channel was used", debug.String())
	}
	// The first command too: it took the channel opened as its connection
	// came up.
	st := p.snapshot()
	if st.Warm != 2 || srv.Accepted() != 1 {
		t.Errorf("commands on warm channels = %d, connections = %d; want 2, 1", st.Warm, srv.Accepted())
	}
}

// TestWarmChannelKeepsToKnownLimit: on a server known to take one channel
// per connection, a warm channel is opened only in the free slot, never
// beside a command: the server refuses nothing, and no command fails.
func TestWarmChannelKeepsToKnownLimit(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{MaxChannelsPerConn: 1})
	limits := loadLimits(filepath.Join(t.TempDir(), "limits.json"), nil)
	p := newTestPool(t, srv, nil, limits, PoolConfig{})
	limits.learn(p.server, func(l *serverLimits) { l.Channels = 1 })
	ctx := testContext(t)
	for i := range 10 {
		if got := runInPool(ctx, p, "echo hi"); got.status != 0 || got.err != nil || got.stdout != "hi\n" {
			t.Fatalf("command %d = %+v", i, got)
		}
	}
	// The burst's commands wait until all run at once: six connections,
	// each with its warm channel taken by a command.
	const burst = "barrier 6"
	checkAllSucceeded(t, burst, runBurst(ctx, p, 6, burst))
	if got := srv.MaxRunning(); got != 6 {
		t.Errorf("server ran at most %d commands at once, want 6", got)
	}
	if n := srv.Refused(); n != 0 {
		t.Errorf("server refused %d channels of a pool that knew its limit, want 0", n)
	}
	if l := limits.get(p.server); l.Channels != 1 || l.NoWarm {
		t.Errorf("learned %+v; want the limit kept at 1 and warm channels still on", l)
	}
}

// TestWarmChannelsOnNoReuseServer: a server that takes no second channel
// on a connection refuses warm channels too; every command still runs,
// and what is learned is that it does not reuse connections.
func TestWarmChannelsOnNoReuseServer(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{NoReuseAfterClose: true})
	limits := loadLimits("", nil)
	p := newTestPool(t, srv, nil, limits, PoolConfig{})
	ctx := testContext(t)
	for i := range 6 {
		if got := runInPool(ctx, p, "echo hi"); got.status != 0 || got.err != nil || got.stdout != "hi\n" {
			t.Fatalf("command %d = %+v", i, got)
		}
	}
	if l := limits.get(p.server); !l.NoReuse {
		t.Errorf("learned %+v, want no_reuse", l)
	}
	if st := p.snapshot(); st.Limit != 0 {
		t.Errorf("learned a channel limit of %d from warm channels, want none", st.Limit)
	}
}

// TestWarmChannelCountedWhenLearningLimit: a command's open refused while
// a warm channel holds a slot teaches the server's real limit, the warm
// channel included: a limit learned one too low is never raised again.
func TestWarmChannelCountedWhenLearningLimit(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{MaxChannelsPerConn: 2})
	p := newTestPool(t, srv, nil, nil, PoolConfig{GuessChannels: 4})
	ctx := testContext(t)
	if got := runInPool(ctx, p, "echo one"); got.status != 0 || got.err != nil {
		t.Fatalf("first command = %+v", got)
	}
	waitFor(t, "a warm channel", func() bool { return p.snapshot().WarmOpen == 1 })
	// One command holds the warm channel's slot open ("cat" until its
	// stdin closes), and a second warm channel takes the other.
	stdin, closeStdin := io.Pipe()
	defer closeStdin.Close()
	held := make(chan poolResult, 1)
	go func() {
		status, err := p.run(ctx, p.dest, Command{Line: "cat", Stdin: stdin, Stdout: io.Discard, Stderr: io.Discard}, dial.Options{})
		held <- poolResult{status: status, err: err}
	}()
	waitFor(t, "the held command and a second warm channel", func() bool {
		st := p.snapshot()
		p.mu.Lock()
		defer p.mu.Unlock()
		w := p.conns[0].warm
		return st.Open == 1 && st.Warm == 2 && w != nil && w.finished && w.err == nil
	})
	// The first command's end is out of the window in which judge counts
	// a channel that ended as still held by the server.
	p.mu.Lock()
	window := p.conns[0].refusals.stillCounted()
	p.mu.Unlock()
	time.Sleep(window + 10*time.Millisecond)
	// A command that opens a channel of its own (not the warm one) is
	// refused: the server counts the held command and the warm channel.
	pc, reserved, _, err := p.acquire(ctx, p.dest, dial.Options{}, false)
	if err != nil {
		t.Fatal(err)
	}
	o := p.startOpen(pc, reserved)
	<-o.done
	if o.err == nil {
		t.Fatal("the server opened a third channel: the test shows nothing")
	}
	p.openFailed(pc, reserved, newOpenError(o.err))
	if got := p.limits.get(p.server).Channels; got != 2 {
		t.Errorf("learned limit %d, want 2: the warm channel held a slot", got)
	}
	closeStdin.Close()
	if r := <-held; r.status != 0 || r.err != nil {
		t.Errorf("held command = %+v", r)
	}
}
