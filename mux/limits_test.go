//go:build unix

package mux

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gitssh/gitssh/internal/sshtest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
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
	limits := loadLimits(path, nil)
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
	if diff := cmp.Diff(serverLimits{Channels: 1}, loadLimits(path, nil).get(p.server), ignoreLearned); diff != "" {
		t.Errorf("limits file mismatch (-want +got):\n%s", diff)
	}
}

// Every fact learned reaches the file: saves of concurrent learns, and
// those after a failed write.
func TestLimitsSaveKeepsEveryFact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "limits.json")
	s := loadLimits(path, nil)
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
	got := loadLimits(path, nil)
	for server, l := range want {
		if diff := cmp.Diff(l, got.get(server), ignoreLearned); diff != "" {
			t.Errorf("limits file for %s mismatch (-want +got):\n%s", server, diff)
		}
	}
}

// logRecords is an slog handler that keeps the messages and "server"
// attributes of the records it is given.
type logRecords struct {
	mu   sync.Mutex
	msgs []string
}

func (h *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecords) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logRecords) WithGroup(string) slog.Handler            { return h }
func (h *logRecords) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "server" {
			msg += " " + a.Value.String()
		}
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs = append(h.msgs, msg)
	return nil
}

// The limits file is not trusted: what makes no sense in it is ignored,
// with a log line, and the rest is kept.
func TestLoadLimitsIgnoresNonsense(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    map[string]serverLimits
		logs    []string
	}{
		{
			name: "entries that make no sense",
			content: `{"a:22":{"channels":-1},"b:22":{"channels":1025},"c:22":{"channels":3},` +
				`"d:22":{"no_reuse":true},"nohost":{"channels":2},"e:22":{"channels":1024}}`,
			want: map[string]serverLimits{"c:22": {Channels: 3}, "d:22": {NoReuse: true}, "e:22": {Channels: 1024}},
			logs: []string{"ignoring server limits a:22", "ignoring server limits b:22", "ignoring server limits nohost"},
		},
		{
			name:    "not JSON",
			content: `{"a:22":`,
			logs:    []string{"ignoring the server limits file"},
		},
		{
			name:    "larger than 1 MiB",
			content: `{"a:22":{"channels":3}` + strings.Repeat(" ", maxLimitsFile) + `}`,
			logs:    []string{"ignoring the server limits file"},
		},
		{
			name:    "exactly 1 MiB",
			content: `{"a:22":{"channels":3}` + strings.Repeat(" ", maxLimitsFile-len(`{"a:22":{"channels":3}}`)) + `}`,
			want:    map[string]serverLimits{"a:22": {Channels: 3}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "limits.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			var h logRecords
			s := loadLimits(path, slog.New(&h))
			got := s.limits
			if tt.want == nil {
				tt.want = map[string]serverLimits{}
			}
			if diff := cmp.Diff(tt.want, got, ignoreLearned); diff != "" {
				t.Errorf("loaded limits mismatch (-want +got):\n%s", diff)
			}
			slices.Sort(h.msgs)
			if diff := cmp.Diff(tt.logs, h.msgs, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("log lines mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// A server the file claims takes a negative number of channels is served
// as one nothing is known about: one connection, no hang.
func TestPoolIgnoresNegativeLimit(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	path := filepath.Join(t.TempDir(), "limits.json")
	server := net.JoinHostPort(sshtestDest(t, srv).HostName, strconv.Itoa(sshtestDest(t, srv).Port))
	if err := os.WriteFile(path, []byte(`{"`+server+`":{"channels":-1}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p := newTestPool(t, srv, nil, loadLimits(path, nil), PoolConfig{})
	checkAllSucceeded(t, "exit 0", runBurst(testContext(t), p, 3, "exit 0"))
	if got := srv.Accepted(); got != 1 {
		t.Errorf("server accepted %d connections for 3 commands, want 1", got)
	}
}
