//go:build unix

package mux

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gitssh/gitssh/config"
	"github.com/gitssh/gitssh/dial"
	"github.com/gitssh/gitssh/internal/sshtest"
	"golang.org/x/crypto/ssh"
)

func runInPoolWith(ctx context.Context, p *testPool, d config.Destination, line string, opts dial.Options) poolResult {
	var stdout bytes.Buffer
	status, err := p.run(ctx, d, Command{Line: line, Stdout: &stdout, Stderr: io.Discard}, opts)
	return poolResult{status: status, err: err, stdout: stdout.String()}
}

// A connection is dialled with the Destination of the command it is dialled
// for, not that of the command that made the pool: what is not in the pool
// key (HashKnownHosts, ConnectTimeout, LogLevel) may differ between them.
func TestPoolDialsWithRequestDestination(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{NoReuseAfterClose: true})
	dialReal := sshtestDialer(t, srv)
	var mu sync.Mutex
	var dialled []config.Destination
	dialFn := func(ctx context.Context, d config.Destination, opts dial.Options) (*ssh.Client, error) {
		mu.Lock()
		dialled = append(dialled, d)
		mu.Unlock()
		return dialReal(ctx, d, opts)
	}
	p := newTestPool(t, srv, dialFn, nil, PoolConfig{})
	ctx := testContext(t)
	// The pool was made for p.dest; these commands ask for other options.
	for i, change := range []func(*config.Destination){
		func(d *config.Destination) {
			d.HashKnownHosts, d.ConnectTimeout, d.LogLevel = true, 7*time.Second, "QUIET"
		},
		func(d *config.Destination) {
			d.HashKnownHosts, d.ConnectTimeout, d.LogLevel = false, 3*time.Second, "DEBUG1"
		},
	} {
		want := p.dest
		change(&want)
		if got := runInPoolWith(ctx, p, want, "exit 0", dial.Options{}); got.status != 0 || got.err != nil {
			t.Fatalf("command %d = %d, %v; want 0, nil", i, got.status, got.err)
		}
		mu.Lock()
		got := dialled[len(dialled)-1]
		mu.Unlock()
		if got.HashKnownHosts != want.HashKnownHosts || got.ConnectTimeout != want.ConnectTimeout || got.LogLevel != want.LogLevel {
			t.Errorf("command %d dialled with HashKnownHosts %v, ConnectTimeout %v, LogLevel %q; want %v, %v, %q (its own)",
				i, got.HashKnownHosts, got.ConnectTimeout, got.LogLevel, want.HashKnownHosts, want.ConnectTimeout, want.LogLevel)
		}
	}
}

// prompter answers every question with answer, or, if release is set,
// blocks until release is closed and then declines.
type prompter struct {
	answer  string
	release chan struct{}
}

func (a *prompter) Secret(string) (string, error) {
	if a.release != nil {
		<-a.release
		return "", errors.New("no answer")
	}
	return a.answer, nil
}

func (a *prompter) Confirm(p string) (string, error) { return a.Secret(p) }

// While one command's dial waits for an answer that does not come, another
// command for the same destination dials on its own, is asked itself, and
// runs: an unanswered prompt blocks no one but its requester.
func TestPoolUnansweredPromptBlocksOnlyItsRequester(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := sshtest.NewPipeServer(t, sshtest.Options{})
		dialReal := sshtestDialer(t, srv)
		dialFn := func(ctx context.Context, d config.Destination, opts dial.Options) (*ssh.Client, error) {
			if _, err := opts.Prompter.Secret("Enter passphrase: "); err != nil {
				return nil, err
			}
			return dialReal(ctx, d, opts)
		}
		p := newTestPool(t, srv, dialFn, nil, PoolConfig{})
		nobody := &prompter{release: make(chan struct{})}
		var wg sync.WaitGroup
		defer wg.Wait()
		defer close(nobody.release)
		wg.Go(func() { runInPoolWith(t.Context(), p, p.dest, "exit 0", dial.Options{Prompter: nobody}) })
		synctest.Wait() // the first command's dial waits for its answer

		got := runInPoolWith(t.Context(), p, p.dest, "echo two", dial.Options{Prompter: &prompter{answer: "s3cret"}})
		if got.status != 0 || got.err != nil || got.stdout != "two\n" {
			t.Errorf("second command = %d, %v, %q; want 0, nil, %q", got.status, got.err, got.stdout, "two\n")
		}
	})
}
