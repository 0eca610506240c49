package mux

// Warm channels: each pooled connection keeps one session channel opened
// ahead, so that the next command's environment and exec go out at once
// and the channel-open round trip is not on its path (RFC 4254 lets a
// session wait for its one exec; OpenSSH's sshd holds it as "larval").
//
// A warm channel holds a slot of the server's limit (sshd's MaxSessions,
// gitlab-sshd's 10 per connection), so:
//   - it is opened only in a slot that is free, and the first command that
//     wants a slot on its connection takes it, so no command dials or waits
//     where it would not have without it;
//   - it is not a command: it is not in the connection's open count, its
//     refusal teaches no limit, and an idle connection holding only a warm
//     channel is idle (ControlPersist still ends the master);
//   - a server that refuses warm channels (or closes them: one session per
//     connection) is tried again after a settling round trip, and after
//     warmRefusals refusals in a row it is remembered as one that does not
//     take channels ahead (serverLimits.NoWarm);
//   - an exec sent on a connection that died silently would go unanswered
//     and could never be sent elsewhere. So a command on a warm channel
//     sends its exec at once only if the connection was heard from within
//     warmTrust (two round trips of the link, at least 100 ms: a busy
//     pool, a command right after another); after a longer silence it
//     first probes the connection, which costs the round trip the warm
//     channel saved, and
//     if the probe goes unanswered for openPatience it moves, unstarted,
//     to another connection (as an unanswered open does, open.go);
//   - a warm channel that turns out to be dead when its command uses it
//     (the server closed it, or the connection: sshd's
//     UnusedConnectionTimeout takes a connection that holds only larval
//     channels for unused) sent nothing that ran, so the command is run
//     on another channel, silently.

import (
	"context"
	"errors"
	"time"

	"github.com/gitssh/gitssh/keepalive"
)

// warmRefusals is how many refusals of a warm channel in a row make a
// server one that does not take channels ahead.
const warmRefusals = 3

// errWarmStale is a warm channel that could not carry its command: the
// server had closed it. Nothing ran.
var errWarmStale = errors.New("mux: warm channel closed by the server")

// warming reports whether warm channels are opened for this pool's server.
// p.mu must be held.
func (p *pool) warming() bool {
	l := p.limits.get(p.server)
	return !p.cfg.NoWarmChannels && !l.NoWarm && !l.NoReuse && !l.OneSession
}

// arm opens a warm channel on pc if it has none and a slot is free. p.mu
// must be held.
func (p *pool) arm(pc *pooledConn) {
	if p.closed || pc.warm != nil || pc.retired || pc.stalled || pc.refusals.settling || !pc.alive() || !p.warming() {
		return
	}
	if pc.open+1 > p.connLimit(pc) || (pc.warmAlone && pc.open > 0) {
		return
	}
	o := p.startOpenLocked(pc, time.Now())
	pc.warm = o
	p.wg.Go(func() {
		<-o.done
		p.mu.Lock()
		defer p.mu.Unlock()
		if pc.warm != o {
			// A command took it while it was opening (nothing else
			// replaces pc.warm): the next one opens now that the server
			// has answered this one, so that opens reach it in the order
			// they were made.
			if o.err == nil {
				p.arm(pc)
			}
			return
		}
		if o.err == nil {
			pc.warmRefused = 0
			p.broadcast() // a waiter may take it
			return
		}
		pc.warm = nil
		if _, refused := errors.AsType[*ChannelRefusedError](newOpenError(o.err).err); !refused {
			return // the connection is broken: dropDead sees it
		}
		if pc.open > 0 {
			// Refused beside commands: the server's limit, not warm
			// channels, is the matter (and it is learned from commands
			// only). Warm channels wait for an idle connection here.
			pc.warmAlone = true
			return
		}
		pc.warmRefused++
		p.log.Debug("warm channel refused", "conn", pc.id, "times", pc.warmRefused)
		if pc.warmRefused >= warmRefusals {
			p.log.Info("server takes no channels ahead: no warm channels", "conn", pc.id)
			p.remember(func(l *serverLimits) { l.NoWarm = true })
			return
		}
		// The server may still count a channel that just ended: try
		// again once a round trip has passed (settle arms it).
		p.settle(pc, time.Duration(pc.warmRefused*pc.warmRefused)*10*time.Millisecond)
	})
}

// takeWarm gives the next command pc's warm channel, in the slot it holds,
// and arms another if a slot is still free. p.mu must be held.
func (p *pool) takeWarm(pc *pooledConn) *pendingOpen {
	o := pc.warm
	pc.warm = nil
	pc.open++
	pc.used++
	o.reserved = time.Now()
	p.stats.Warm++
	if o.finished {
		p.arm(pc)
	} // else arm's goroutine arms the next one when o is answered
	return o
}

// warmUsable reports whether pc's warm channel may be taken now: it is
// opened (or still opening: waiting for it is no worse than opening one).
// p.mu must be held.
func (pc *pooledConn) warmUsable() bool {
	if pc.warm == nil {
		return false
	}
	select {
	case <-pc.warm.done:
		return pc.warm.err == nil
	default:
		return true
	}
}

// connLimit is how many channels pc may carry at once: what was learned,
// or the guess. p.mu must be held.
func (p *pool) connLimit(pc *pooledConn) int {
	if pc.limit > 0 {
		return pc.limit
	}
	return p.cfg.GuessChannels
}

// staleWarm reports whether err, from a command run on a warm channel,
// means the channel was dead before anything ran: the exec (or shell)
// request was not accepted because the server had closed the channel.
func staleWarm(err error) bool {
	_, execRefused := errors.AsType[*ExecRefusedError](err)
	return execRefused || errors.Is(err, ErrShellRefused)
}

// minWarmTrust bounds warmTrust from below. On a fast link two round trips
// are less than the gap between two git commands one after another, and a
// probe before every command would cost the round trip the warm channel
// saves (and a wake-up of the master and the server): a link that dies
// silently within this long of its last packet is the one case in which
// an exec waits for the keepalive verdict, as every exec does with
// OpenSSH's ControlMaster.
const minWarmTrust = 100 * time.Millisecond

// warmTrust is how recently pc's server must have been heard from for a
// command to send its exec on a warm channel without probing first: two
// round trips of the link, at least minWarmTrust. The link's round trip
// is the shortest one seen (pooledConn.linkRTT), since under load a round
// trip takes many times the link's. p.mu must be held.
func warmTrust(pc *pooledConn) time.Duration {
	return max(2*pc.linkRTT, minWarmTrust)
}

// sawRoundTrip notes a round trip of rtt on pc's link. p.mu must be held.
func (pc *pooledConn) sawRoundTrip(rtt time.Duration) {
	if pc.linkRTT == 0 || rtt < pc.linkRTT {
		pc.linkRTT = rtt
	}
}

// probe sends pc's server a keepalive request and waits for its answer.
// The round trip is noted (sawRoundTrip), and an answer shows that the
// server has processed (and freed) every channel that ended before it was
// sent, which judge allows for (refusals.settled). p.mu must not be held.
func (p *pool) probe(pc *pooledConn) error {
	start := time.Now()
	_, _, err := pc.client.SendRequest(keepalive.RequestName, true, nil)
	if err != nil {
		return err
	}
	rtt := time.Since(start)
	p.mu.Lock()
	defer p.mu.Unlock()
	if start.After(pc.refusals.settled) {
		pc.refusals.settled = start
	}
	pc.sawRoundTrip(rtt)
	return nil
}

// verifyWarm makes sure pc still answers before a command's exec goes out
// on its warm channel: at once if its server was heard from within
// warmTrust, else by a keepalive probe answered within openPatience. On
// false, pc is suspected (it takes no new channels until it answers).
func (p *pool) verifyWarm(ctx context.Context, pc *pooledConn) bool {
	p.mu.Lock()
	trust, patience := warmTrust(pc), openPatience(pc)
	p.mu.Unlock()
	if pc.mon.Silence() <= trust {
		return true
	}
	answered := make(chan error, 1)
	p.wg.Go(func() {
		err := p.probe(pc)
		answered <- err
	})
	t := time.NewTimer(patience)
	defer t.Stop()
	select {
	case err := <-answered:
		return err == nil
	case <-ctx.Done():
		return false
	case <-t.C:
		p.suspect(pc)
		return false
	}
}

// rearm opens a new warm channel on pc once a command on it has ended and
// the server has answered a round trip since: a server still freeing the
// ended session (sshd), or ending the connection with its first session
// (tinysshd), has then shown which it is, and no command waits for it.
// p.mu must be held.
func (p *pool) rearm(pc *pooledConn) {
	if p.closed || pc.warm != nil || pc.rearming || pc.retired || !p.warming() {
		return
	}
	pc.rearming = true
	p.wg.Go(func() {
		err := p.probe(pc)
		p.mu.Lock()
		defer p.mu.Unlock()
		pc.rearming = false
		if err == nil {
			p.arm(pc)
		}
	})
}
