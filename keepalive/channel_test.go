package keepalive

import (
	"context"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// fakeChannel answers channel requests with failure after a round trip,
// as OpenSSH's sshd answers an unknown one, or fails once closed.
type fakeChannel struct {
	rtt    time.Duration
	sent   atomic.Int64
	closed atomic.Bool
}

func (f *fakeChannel) SendRequest(name string, wantReply bool, _ []byte) (bool, error) {
	if f.closed.Load() {
		return false, io.EOF
	}
	if name != RequestName || !wantReply {
		panic("unexpected request " + name)
	}
	f.sent.Add(1)
	time.Sleep(f.rtt)
	return false, nil
}

func TestChannelMonitor(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		traffic  time.Duration // a byte arrives this often; 0: never
		run      time.Duration
		want     int64
	}{
		{name: "silent channel: one request per interval", interval: 3 * time.Second, run: 31 * time.Second, want: 10},
		{name: "busy channel: none", interval: 3 * time.Second, traffic: time.Second, run: 30 * time.Second, want: 0},
		{name: "off", interval: 0, run: 30 * time.Second, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ch := &fakeChannel{rtt: 10 * time.Millisecond}
				m := NewChannel(tt.interval)
				ctx, cancel := context.WithCancel(t.Context())
				var wg sync.WaitGroup
				wg.Go(func() { m.Run(ctx, ch) })
				if tt.traffic > 0 {
					r := m.WrapReader(strings.NewReader(strings.Repeat("x", 100)))
					wg.Go(func() {
						b := make([]byte, 1)
						for range int(tt.run / tt.traffic) {
							time.Sleep(tt.traffic)
							r.Read(b)
						}
					})
				}
				time.Sleep(tt.run)
				cancel()
				wg.Wait()
				if got := ch.sent.Load(); got != tt.want {
					t.Errorf("requests sent = %d, want %d", got, tt.want)
				}
				if got := m.Sent(); got != tt.want {
					t.Errorf("Sent() = %d, want %d", got, tt.want)
				}
			})
		})
	}
	t.Run("a closed channel ends Run", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ch := &fakeChannel{}
			ch.closed.Store(true)
			m := NewChannel(time.Second)
			m.Run(t.Context(), ch) // returns at the first request
		})
	})
}
