//go:build unix

package mux

import (
	"fmt"
	"testing"

	"github.com/gitssh/gitssh/internal/sshtest"
	"golang.org/x/crypto/ssh"
)

// TestPoolEveryRefusalReasonMeansElsewhere: whatever reason and message a
// server refuses a channel with, the command moves to another connection,
// silently, and the limit is learned.
func TestPoolEveryRefusalReasonMeansElsewhere(t *testing.T) {
	tests := []struct {
		name   string
		opts   sshtest.Options
		guess  int // PoolConfig.GuessChannels: above the server's limit, so that it refuses
		n      int
		server string
	}{
		{
			name:  "administratively prohibited (Bitbucket Cloud)",
			opts:  sshtest.Options{MaxChannelsPerConn: 1, RefuseReason: ssh.Prohibited, RefuseMessage: "cannot open additional channels"},
			guess: 4, n: 8,
		},
		{
			name:  "connect failed (OpenSSH MaxSessions)",
			opts:  sshtest.Options{MaxChannelsPerConn: 10, RefuseReason: ssh.ConnectionFailed, RefuseMessage: "open failed"},
			guess: 16, n: 24,
		},
		{
			name:  "resource shortage (gitlab-sshd past 10)",
			opts:  sshtest.Options{MaxChannelsPerConn: 10, RefuseReason: ssh.ResourceShortage, RefuseMessage: "too many concurrent sessions"},
			guess: 16, n: 24,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Every command waits until all n run at once: more than a
			// connection takes, so the server certainly refuses some.
			line := fmt.Sprintf("barrier %d", tt.n)
			srv := sshtest.NewServer(t, tt.opts)
			p := newTestPool(t, srv, nil, nil, PoolConfig{GuessChannels: tt.guess})
			checkAllSucceeded(t, line, runBurst(testContext(t), p, tt.n, line))
			if got := len(srv.Execs()); got != tt.n {
				t.Errorf("server ran %d commands, want %d", got, tt.n)
			}
			if srv.Refused() == 0 {
				t.Fatalf("server refused no channel: the test shows nothing")
			}
			if got := p.limits.get(p.server).Channels; got != tt.opts.MaxChannelsPerConn {
				t.Errorf("learned limit %d, want %d", got, tt.opts.MaxChannelsPerConn)
			}
		})
	}
}
