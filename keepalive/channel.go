package keepalive

import (
	"context"
	"io"
	"sync/atomic"
	"time"
)

// Channel is the part of an SSH session channel that channel keepalives
// need. golang.org/x/crypto/ssh's *Session and Channel satisfy it.
type Channel interface {
	SendRequest(name string, wantReply bool, payload []byte) (bool, error)
}

// ChannelMonitor keeps one command's channel busy for servers whose idle
// timer counts channel traffic only. Some servers (dropbear's -I) ignore
// keepalive@openssh.com global requests and the replies to them, so a
// command whose channel is silent longer than their idle timeout is cut off
// however well the connection is kept alive. After Interval in which nothing
// arrived on the channel, the monitor sends a keepalive@openssh.com channel
// request with want-reply on it. OpenSSH's sshd answers an unknown channel
// request with failure; any answer, failure included, is a sign of life.
//
// A ChannelMonitor never declares anything dead: the connection's
// [Monitor] does, and every byte of a channel reply is traffic it already
// counts. Create it with [NewChannel], report traffic with
// [ChannelMonitor.Seen] or [ChannelMonitor.WrapReader], and call Run once,
// after the channel's exec or shell request has been answered: a channel
// request on a larval channel would be the server's first request, which
// some servers take for the command.
type ChannelMonitor struct {
	interval time.Duration
	epoch    time.Time

	last  atomic.Int64 // last sign of life, as a duration since epoch
	bytes atomic.Int64 // bytes received through WrapReader
	sent  atomic.Int64 // channel requests sent
}

// NewChannel returns a ChannelMonitor that sends a channel request after
// interval without traffic on the channel. If interval is zero or negative,
// Run sends nothing.
func NewChannel(interval time.Duration) *ChannelMonitor {
	m := &ChannelMonitor{interval: interval, epoch: time.Now()}
	m.Seen()
	return m
}

// Seen records a sign of life on the channel. It is cheap, never blocks and
// is safe to call from any goroutine.
func (m *ChannelMonitor) Seen() { m.last.Store(int64(time.Since(m.epoch))) }

// WrapReader returns r with every successful Read reported to Seen and
// counted in Received. Wrap the channel's stdout and stderr with it.
func (m *ChannelMonitor) WrapReader(r io.Reader) io.Reader { return &seenReader{r: r, m: m} }

// Received returns how many bytes were read through WrapReader.
func (m *ChannelMonitor) Received() int64 { return m.bytes.Load() }

// Sent returns how many channel requests Run has sent.
func (m *ChannelMonitor) Sent() int64 { return m.sent.Load() }

type seenReader struct {
	r io.Reader
	m *ChannelMonitor
}

func (r *seenReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.m.bytes.Add(int64(n))
		r.m.Seen()
	}
	return n, err
}

// Run sends channel keepalives on ch until ctx is done or the channel is
// gone (a request cannot be sent, or its reply never comes because the
// channel closed). It returns only when no request it sent is in flight:
// x/crypto's SendRequest returns when the reply arrives or the channel
// closes, so a caller stops Run by cancelling ctx and letting the channel
// end, in either order. Like [Monitor], the next request is due an Interval
// after the last sign of life or the last request, whichever is later, and
// at most one is in flight.
func (m *ChannelMonitor) Run(ctx context.Context, ch Channel) {
	if m.interval <= 0 {
		return
	}
	timer := time.NewTimer(m.interval)
	defer timer.Stop()
	var lastSent time.Duration
	for {
		due := max(time.Duration(m.last.Load()), lastSent) + m.interval
		if wait := due - time.Since(m.epoch); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			continue
		}
		if ctx.Err() != nil {
			return
		}
		lastSent = time.Since(m.epoch)
		m.sent.Add(1)
		if _, err := ch.SendRequest(RequestName, true, nil); err != nil {
			return // the channel is gone
		}
		m.Seen()
	}
}
