package mux

import (
	"context"
	"time"

	"github.com/gitssh/gitssh/config"
	"github.com/gitssh/gitssh/dial"
	"github.com/gitssh/gitssh/keepalive"
	"golang.org/x/crypto/ssh"
)

// A pooled connection can be dead without anyone knowing: a route that went
// away drops packets and closes nothing, and the keepalive verdict comes
// only after ServerAliveInterval × ServerAliveCountMax (about 33 s with the
// defaults). A command that has not started loses nothing by moving, so
// the pool opens a command's channel itself: when the open is not answered
// within openPatience, the connection is probed and, at once, a channel
// is sought elsewhere (on another connection or a fresh one); the command
// runs on whichever channel opens first. Commands that have started are
// not affected: their long silent phases keep the patient verdict.

// minOpenPatience bounds openPatience from below: a loaded server may take
// a while to open a channel, and a fresh connection costs several round
// trips.
const minOpenPatience = time.Second

// defaultOpenTimeout is how long a command waits, once the open on its
// connection has gone unanswered for openPatience, for either that open or
// one elsewhere, when the Destination has no ConnectTimeout: then it exits
// with OpenSSH's "Timeout, server HOST not responding.".
const defaultOpenTimeout = 5 * time.Second

// openPatience is how long a channel open on pc may go unanswered before
// pc is suspected: four of its measured open round trips, at least
// minOpenPatience. p.mu must be held.
func openPatience(pc *pooledConn) time.Duration {
	return max(minOpenPatience, 4*pc.refusals.rtt)
}

// pendingOpen is a session channel being opened on a connection, in a
// slot reserved there.
type pendingOpen struct {
	pc       *pooledConn
	reserved time.Time
	start    time.Time
	done     chan struct{} // closed when s, err and rtt are set
	s        *ssh.Session
	err      error
	rtt      time.Duration // how long the open took
	finished bool          // done is closed; guarded by the pool's mu
}

// startOpen opens a session channel on pc in a goroutine of its own:
// x/crypto's NewSession cannot be cancelled except by closing the
// connection.
func (p *pool) startOpen(pc *pooledConn, reserved time.Time) *pendingOpen {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.startOpenLocked(pc, reserved)
}

// startOpenLocked is startOpen with p.mu held.
func (p *pool) startOpenLocked(pc *pooledConn, reserved time.Time) *pendingOpen {
	o := &pendingOpen{pc: pc, reserved: reserved, start: time.Now(), done: make(chan struct{})}
	pc.opening++
	p.wg.Go(func() {
		o.s, o.err = pc.newSession()
		o.rtt = time.Since(o.start)
		p.mu.Lock()
		pc.opening--
		o.finished = true
		p.mu.Unlock()
		close(o.done)
	})
	return o
}

// opened is o's result for run: its session, or an *openError that
// openFailed learns from. The open round trip is observed.
func (p *pool) opened(o *pendingOpen) (*ssh.Session, *pooledConn, time.Time, error) {
	if o.err != nil {
		return nil, o.pc, o.reserved, newOpenError(o.err)
	}
	p.observeRTT(o.pc, o.rtt)
	return o.s, o.pc, o.reserved, nil
}

// abandon gives o up: a channel that opens late is closed unused, and o's
// slot is returned once the open has ended either way.
func (p *pool) abandon(o *pendingOpen) {
	p.wg.Go(func() {
		<-o.done
		if o.err == nil {
			o.s.Close()
			p.release(o.pc)
			return
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		o.pc.open--
		o.pc.used--
		p.broadcast()
	})
}

// await waits for o, the open of a command's session channel (started for
// it, or a warm one it took), and returns the channel with the connection
// and slot it is on, which is another connection when o's did not answer
// in time (see above). An error of type *openError is an open that failed
// on the connection returned; other errors (ctx's, or a
// *ConnectionLostError when no channel opened in time) leave no slot
// taken.
func (p *pool) await(ctx context.Context, o *pendingOpen, d config.Destination, opts dial.Options) (*ssh.Session, *pooledConn, time.Time, error) {
	pc := o.pc
	p.mu.Lock()
	patience := openPatience(pc)
	p.mu.Unlock()
	t := time.NewTimer(patience)
	defer t.Stop()
	select {
	case <-o.done:
		return p.opened(o)
	case <-ctx.Done():
		p.abandon(o)
		return nil, nil, time.Time{}, ctx.Err()
	case <-t.C:
	}
	p.suspect(pc)
	timeout := d.ConnectTimeout
	if timeout <= 0 {
		timeout = defaultOpenTimeout
	}
	t.Reset(timeout)
	return p.openElsewhere(ctx, o, t.C, d, opts)
}

// suspect keeps pc from new channels until it has answered a probe: an
// open on it went unanswered for openPatience.
func (p *pool) suspect(pc *pooledConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pc.stalled {
		return
	}
	pc.stalled = true
	p.log.Info("channel open unanswered, probing the connection and opening elsewhere", "conn", pc.id)
	p.broadcast()
	p.wg.Go(func() {
		err := p.probe(pc)
		p.mu.Lock()
		defer p.mu.Unlock()
		pc.stalled = false
		if err != nil {
			pc.retired = true
		}
		p.broadcast()
	})
}

// altOpen is the outcome of seeking a channel elsewhere: an open started
// in a slot there, or why no slot was found.
type altOpen struct {
	o   *pendingOpen
	err error
}

// openElsewhere waits for o, the open on a suspected connection, and for a
// channel sought on another connection (fresh if need be) at the same
// time, until timeout; the first channel to open wins.
func (p *pool) openElsewhere(ctx context.Context, o *pendingOpen, timeout <-chan time.Time, d config.Destination, opts dial.Options) (*ssh.Session, *pooledConn, time.Time, error) {
	altCtx, cancelAlt := context.WithCancel(ctx)
	alt := make(chan altOpen, 1)
	p.wg.Go(func() {
		pc, reserved, warm, err := p.acquire(altCtx, d, opts, true)
		switch {
		case err != nil:
			alt <- altOpen{err: err}
		case warm != nil:
			alt <- altOpen{o: warm}
		default:
			alt <- altOpen{o: p.startOpen(pc, reserved)}
		}
	})
	w := &openRace{p: p, mine: o, mineDone: o.done, alt: alt, cancelAlt: cancelAlt}
	defer w.end()
	for {
		select {
		case <-w.mineDone:
			if w.mine.err == nil || !w.altPending() {
				return w.take(w.mine)
			}
			// The suspected connection failed: the other open may
			// still come through.
			p.openFailed(w.mine.pc, w.mine.reserved, newOpenError(w.mine.err))
			w.mine, w.mineDone = nil, nil
		case a := <-w.alt:
			w.alt = nil
			if a.err != nil && w.mine == nil {
				return nil, nil, time.Time{}, a.err
			}
			w.other = a.o
			if a.o != nil {
				w.otherDone = a.o.done
			}
		case <-w.otherDone:
			return w.take(w.other)
		case <-timeout:
			return nil, nil, time.Time{}, &ConnectionLostError{Host: d.HostName, Err: keepalive.ErrTimeout}
		case <-ctx.Done():
			return nil, nil, time.Time{}, ctx.Err()
		}
	}
}

// openRace is openElsewhere's state: the open on the suspected connection
// (mine) and the one sought elsewhere (alt until it has a slot, then
// other). A field is nil once that side is out of the race.
type openRace struct {
	p         *pool
	mine      *pendingOpen
	mineDone  <-chan struct{}
	alt       <-chan altOpen
	cancelAlt context.CancelFunc
	other     *pendingOpen
	otherDone <-chan struct{}
	winner    *pendingOpen
}

func (w *openRace) altPending() bool { return w.alt != nil || w.other != nil }

// take makes o the winner and returns its result.
func (w *openRace) take(o *pendingOpen) (*ssh.Session, *pooledConn, time.Time, error) {
	w.winner = o
	return w.p.opened(o)
}

// end gives up every open but the winner's.
func (w *openRace) end() {
	w.cancelAlt()
	switch {
	case w.other != nil && w.other != w.winner:
		w.p.abandon(w.other)
	case w.alt != nil:
		alt := w.alt
		w.p.wg.Go(func() {
			if a := <-alt; a.o != nil {
				w.p.abandon(a.o)
			}
		})
	}
	if w.mine != nil && w.mine != w.winner {
		w.p.giveUp(w.mine)
	}
}

// giveUp abandons o, the open on a suspected connection. If the
// connection has not answered its probe and carries no started command
// (only opens still unanswered), it is closed: nobody waits for it, and
// closing is the only way to end those opens.
func (p *pool) giveUp(o *pendingOpen) {
	p.mu.Lock()
	warmOpening := 0
	if w := o.pc.warm; w != nil && !w.finished {
		warmOpening = 1
	}
	if o.pc.stalled && o.pc.open == o.pc.opening-warmOpening {
		p.log.Info("closing a connection that did not answer", "conn", o.pc.id)
		o.pc.retired = true
		p.closeConn(o.pc)
	}
	p.mu.Unlock()
	p.abandon(o)
}
