//go:build unix

package mux

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gitssh/gitssh/internal/sshtest"
	"github.com/google/go-cmp/cmp"
)

// A pool that learns a limit goes on serving while the limits file is
// being written: the write does not happen under the pool's lock.
func TestPoolServesWhileLimitsAreSaved(t *testing.T) {
	const (
		n    = 12
		line = "sleep 10ms"
	)
	srv := sshtest.NewServer(t, sshtest.Options{MaxChannelsPerConn: 1})
	path := filepath.Join(t.TempDir(), "limits.json")
	limits := loadLimits(path)
	writing := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	limits.writeFile = func(path string, data []byte) error {
		once.Do(func() { close(writing) })
		<-release
		return writeFileAtomic(path, data)
	}
	p := newTestPool(t, srv, nil, limits, PoolConfig{})
	ctx := testContext(t)

	var results []poolResult
	done := make(chan struct{})
	go func() {
		defer close(done)
		results = runBurst(ctx, p, n, line)
	}()
	select {
	case <-writing:
	case <-ctx.Done():
		close(release)
		t.Fatal("the limits file was never written")
	}
	// The write is blocked: the burst must still finish, refusals and all.
	select {
	case <-done:
	case <-ctx.Done():
		close(release)
		<-done
		t.Fatal("the burst did not finish while the limits file was being written")
	}
	close(release)
	checkAllSucceeded(t, line, results)
	if err := limits.save(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(serverLimits{Channels: 1}, loadLimits(path).get(p.server), ignoreLearned); diff != "" {
		t.Errorf("limits file mismatch (-want +got):\n%s", diff)
	}
}

// Every fact learned reaches the file: saves of concurrent learns, and
// those after a failed write.
func TestLimitsSaveKeepsEveryFact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "limits.json")
	s := loadLimits(path)
	fail := true
	s.writeFile = func(path string, data []byte) error {
		if fail {
			fail = false // only under saveMu: no race
			return errors.New("disk full")
		}
		return writeFileAtomic(path, data)
	}
	s.learn("first:22", func(l *serverLimits) { l.Channels = 3 })
	if err := s.save(); err == nil {
		t.Fatal("save with a failing write = nil, want an error")
	}
	want := map[string]serverLimits{"first:22": {Channels: 3}}
	var wg sync.WaitGroup
	for i := range 20 {
		server := fmt.Sprintf("host%d:22", i)
		want[server] = serverLimits{Channels: i + 1}
		wg.Go(func() {
			s.learn(server, func(l *serverLimits) { l.Channels = i + 1 })
			if err := s.save(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got := loadLimits(path)
	for server, l := range want {
		if diff := cmp.Diff(l, got.get(server), ignoreLearned); diff != "" {
			t.Errorf("limits file for %s mismatch (-want +got):\n%s", server, diff)
		}
	}
}
