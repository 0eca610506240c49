package keepalive_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gitssh/gitssh/internal/sshtest"
	"github.com/gitssh/gitssh/keepalive"
)

// TestSSHServer runs Run over a real x/crypto client against an in-process
// server, in a synctest bubble over an in-memory pipe, so the times are
// exact: OpenSSH's sshd-style failure replies keep the connection alive; a
// server that ignores keepalives is dead at 4×Interval.
func TestSSHServer(t *testing.T) {
	const interval = 10 * time.Second
	tests := []struct {
		name           string
		opts           sshtest.Options
		wantDead       time.Duration // 0: alive until the horizon
		wantKeepalives int
	}{
		{name: "answered with failure", wantKeepalives: 9},
		{name: "ignored", opts: sshtest.Options{IgnoreKeepalives: true}, wantDead: 4 * interval, wantKeepalives: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := sshtest.NewPipeServer(t, tt.opts)
				m := keepalive.New(keepalive.Config{Interval: interval})
				client := s.NewClient(t, m.WrapConn(s.DialConn(t)))
				ctx, cancel := context.WithTimeout(t.Context(), 97*time.Second)
				defer cancel()
				start := time.Now()

				err := m.Run(ctx, client)
				elapsed := time.Since(start)

				if tt.wantDead == 0 {
					if err != nil {
						t.Errorf("Run = %v after %v, want nil", err, elapsed)
					}
				} else {
					if !errors.Is(err, keepalive.ErrTimeout) || elapsed != tt.wantDead {
						t.Errorf("Run = %v after %v, want ErrTimeout after %v", err, elapsed, tt.wantDead)
					}
					if client.Wait() == nil { // returns once the connection is closed
						t.Error("client Wait = nil, want the closed connection's error")
					}
				}
				if got := s.Keepalives(); got != tt.wantKeepalives {
					t.Errorf("server received %d keepalives, want %d", got, tt.wantKeepalives)
				}
			})
		})
	}
}

// TestSSHServerTCP is the same over loopback TCP in real time, with short
// intervals: the verdict must not depend on a fake clock or an in-memory
// transport.
func TestSSHServerTCP(t *testing.T) {
	const interval = 50 * time.Millisecond
	t.Run("ignored", func(t *testing.T) {
		s := sshtest.NewServer(t, sshtest.Options{IgnoreKeepalives: true})
		m := keepalive.New(keepalive.Config{Interval: interval, CountMax: 2})
		client := s.NewClient(t, m.WrapConn(s.DialConn(t)))
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		start := time.Now()

		err := m.Run(ctx, client)
		elapsed := time.Since(start)

		if !errors.Is(err, keepalive.ErrTimeout) {
			t.Fatalf("Run = %v after %v, want ErrTimeout", err, elapsed)
		}
		if elapsed < 3*interval {
			t.Errorf("dead after %v, want at least %v", elapsed, 3*interval)
		}
		if client.Wait() == nil {
			t.Error("client Wait = nil, want the closed connection's error")
		}
		if s.Keepalives() < 1 {
			t.Error("server received no keepalive")
		}
	})
	t.Run("answered with failure", func(t *testing.T) {
		s := sshtest.NewServer(t, sshtest.Options{})
		m := keepalive.New(keepalive.Config{Interval: interval, CountMax: 2})
		client := s.NewClient(t, m.WrapConn(s.DialConn(t)))
		ctx, cancel := context.WithTimeout(t.Context(), 6*interval)
		defer cancel()

		if err := m.Run(ctx, client); err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		if got := s.Keepalives(); got < 2 {
			t.Errorf("server received %d keepalives, want at least 2", got)
		}
		if err := client.Close(); err != nil {
			t.Errorf("connection closed by Run: Close = %v", err)
		}
	})
}
