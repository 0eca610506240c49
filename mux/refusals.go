package mux

import (
	"errors"
	"time"
)

// refusals is what one connection has shown about the channels its server
// allows: when its channels ended, how long an open takes, and whether a
// refusal is being waited out. It decides what a refusal means (judge); the
// pool acts on the decision (openFailed). Like the rest of a pooledConn it
// is guarded by the pool's mu.
//
// A server may count a channel for about a round trip after it ended (sshd
// frees a session's slot only in the main-loop pass after the close), which
// judge allows for.
type refusals struct {
	ends     []time.Time   // when the last channels ended, newest last
	rtt      time.Duration // the channel-open round trip, smoothed
	settling bool          // a round trip after a refusal is in flight: take no channel
	settled  time.Time     // when the last answered probe was sent: what ended before is freed
	// unsure counts refusals in a row with nothing open: a server that
	// does not reuse connections, or one still freeing a closed channel
	// (sshd, under load, for longer than a round trip).
	unsure int
	// established counts the channels the server opened and that have
	// not ended; peak is the most it has been: the server's limit is at
	// least that.
	established, peak int
}

// freeingWindow is the least time a server is taken to need to free a
// channel that ended: under load sshd's main loop comes round later than a
// round trip. A limit learned too low is never raised again, one too high
// costs a silent retry, so the window errs long.
const freeingWindow = 50 * time.Millisecond

// maxEnds bounds the channel end times a connection keeps.
const maxEnds = 64

// unsureRefusals is how many refusals in a row with nothing open are taken
// for a server still freeing channels, before it is taken for one that
// does not reuse connections.
const unsureRefusals = 3

// ended notes that a channel ended at t.
func (r *refusals) ended(t time.Time) {
	r.established = max(r.established-1, 0)
	r.ends = append(r.ends, t)
	if len(r.ends) > maxEnds {
		r.ends = append(r.ends[:0], r.ends[len(r.ends)-maxEnds:]...)
	}
}

// opened folds one channel-open round trip into the estimate: a channel
// opened, so the refusals before it were no pattern.
func (r *refusals) opened(rtt time.Duration) {
	r.established++
	r.peak = max(r.peak, r.established)
	r.unsure = 0
	if r.rtt == 0 {
		r.rtt = rtt
	} else {
		r.rtt = (7*r.rtt + rtt) / 8
	}
}

// verdict is what a failed channel open means.
type verdict int

const (
	connBroken    verdict = iota // not a refusal: the connection itself is broken
	refusedUnsure                // try the connection again after a pause
	refusedReuse                 // the server does not reuse connections
	refusedFirst                 // a fresh connection took no channel at all
	refusedLimit                 // the server's limit is known now
)

// judgement is judge's decision and what goes with it.
type judgement struct {
	verdict verdict
	pause   time.Duration // refusedUnsure: how long to wait before the round trip
	limit   int           // refusedLimit: the channels the connection may carry
}

// judge decides what the failure err of a channel open means, for a
// connection that has open channels open now and has opened used over its
// life (the failed one counted in neither), the slot having been reserved
// at reserved.
//
// What the server had open when it decided is counted generously: the
// channels open now, and those that ended since the slot was reserved or a
// little before (opens reach the server in no set order, and a server frees
// a closed channel late: freeingWindow), unless a round trip since has
// shown them gone; and never fewer than the connection once carried at
// once. The count is an upper bound of the server's, so the smallest one
// seen is the limit.
//
// A refusal with nothing open proves little at first: sshd keeps counting
// a closed session until its main loop has freed it, which under load
// takes longer than a round trip. The connection is tried again after a
// pause, and only refusals in a row make it a server that does not reuse
// connections.
func (r *refusals) judge(err error, open, used int, reserved time.Time) judgement {
	if _, ok := errors.AsType[*ChannelRefusedError](err); !ok {
		return judgement{verdict: connBroken}
	}
	switch {
	case open == 0 && used > 0 && r.unsure < unsureRefusals:
		r.unsure++
		return judgement{verdict: refusedUnsure, pause: time.Duration(r.unsure*r.unsure) * 10 * time.Millisecond}
	case open == 0 && used > 0:
		// Nothing else was open, yet it refuses: after a first channel,
		// channels are not reused here.
		return judgement{verdict: refusedReuse}
	case open == 0:
		// On a fresh connection, it takes none at all (and another
		// connection is the only hope).
		return judgement{verdict: refusedFirst}
	}
	others := open
	since := reserved.Add(-r.stillCounted())
	if r.settled.After(since) {
		since = r.settled
	}
	for _, t := range r.ends {
		if t.After(since) {
			others++
		}
	}
	return judgement{verdict: refusedLimit, limit: max(others, r.peak)}
}

// stillCounted is how long a channel that ended is taken to be still
// counted by the server: two open round trips and a little, at least
// freeingWindow.
func (r *refusals) stillCounted() time.Duration {
	return max(2*r.rtt+5*time.Millisecond, freeingWindow)
}

// observeRTT tells pc's refusals how long a channel took to open.
func (p *pool) observeRTT(pc *pooledConn, rtt time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pc.refusals.opened(rtt)
	pc.sawRoundTrip(rtt)
}

// openFailed acts on a channel the server would not open on pc, as pc's
// refusals judge it.
func (p *pool) openFailed(pc *pooledConn, reserved time.Time, oe *openError) {
	p.mu.Lock()
	defer p.mu.Unlock()
	defer p.broadcast()
	pc.open--
	pc.used--
	// A warm channel the server has opened holds a slot it counts (one
	// still opening may be refused as well: it proves nothing).
	held := 0
	if w := pc.warm; w != nil && w.finished && w.err == nil {
		held = 1
	}
	j := pc.refusals.judge(oe.err, pc.open+held, pc.used, reserved)
	if j.verdict == connBroken {
		p.log.Info("channel open failed, dropping connection", "conn", pc.id, "err", oe.err)
		pc.retired = true
		if pc.open == 0 {
			p.closeConn(pc)
		}
		return
	}
	p.stats.Refusals++
	switch j.verdict {
	case refusedUnsure:
		p.log.Debug("channel refused with nothing open; trying again after a pause", "conn", pc.id, "times", pc.refusals.unsure)
		p.settle(pc, j.pause)
	case refusedReuse:
		pc.retired = true
		p.log.Info("server refuses channel reuse", "conn", pc.id, "refusals", pc.refusals.unsure+1)
		p.remember(func(l *serverLimits) { l.NoReuse = true })
		p.closeConn(pc)
	case refusedFirst:
		pc.retired = true
		p.log.Info("server refused the first channel of a connection", "conn", pc.id)
		p.closeConn(pc)
	case refusedLimit:
		pc.limit = j.limit
		p.log.Info("server refused a channel, learned limit", "conn", pc.id, "limit", j.limit)
		p.remember(func(l *serverLimits) {
			if l.Channels == 0 || j.limit < l.Channels {
				l.Channels = j.limit
			}
		})
		p.settle(pc, 0)
	}
}

// settle keeps pc from new channels for pause and then one round trip, so
// that the server has freed what it still counted when it refused. p.mu
// must be held.
func (p *pool) settle(pc *pooledConn, pause time.Duration) {
	if pc.refusals.settling {
		return
	}
	pc.refusals.settling = true
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		select {
		case <-time.After(pause):
		case <-pc.done:
		}
		err := p.probe(pc)
		p.mu.Lock()
		defer p.mu.Unlock()
		pc.refusals.settling = false // probe noted the round trip in settled
		if err != nil {
			pc.retired = true
		}
		p.arm(pc)
		p.broadcast()
	}()
}
