package mux

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/gitssh/gitssh/config"
	"github.com/gitssh/gitssh/dial"
	"golang.org/x/crypto/ssh"
)

// DialFunc makes one authenticated connection. dial.Dial is the real one;
// tests pass their own.
type DialFunc func(ctx context.Context, d config.Destination, opts dial.Options) (*ssh.Client, error)

// PoolConfig bounds one destination's pool. Zero values mean the defaults.
type PoolConfig struct {
	// MaxConns bounds the connections to one destination; requests beyond
	// what they can carry wait for a free channel. If zero, 32 is used.
	MaxConns int
	// MaxHandshakes bounds the handshakes in flight to one destination,
	// below OpenSSH's MaxStartups (10 unauthenticated connections before it
	// starts dropping) and dropbear's 5 per address. If zero, 4 is used.
	MaxHandshakes int
	// GuessChannels is how many channels a connection is expected to carry
	// before anything was learned: sshd's default MaxSessions. If zero, 10.
	GuessChannels int
	// DialAttempts is how often a handshake that the server broke off before
	// key exchange (MaxStartups, a reset) is tried; a ProxyCommand that
	// exited unsuccessfully is not tried again. If zero, 6.
	DialAttempts int
	// Backoff is the first wait between those attempts, doubled each time,
	// with jitter. If zero, 50ms.
	Backoff time.Duration
	// NoWarmChannels turns off the channel each connection keeps opened
	// ahead for the next command (warm.go).
	NoWarmChannels bool
}

func (c PoolConfig) withDefaults() PoolConfig {
	if c.MaxConns <= 0 {
		c.MaxConns = 32
	}
	if c.MaxHandshakes <= 0 {
		c.MaxHandshakes = 4
	}
	if c.GuessChannels <= 0 {
		c.GuessChannels = 10
	}
	if c.DialAttempts <= 0 {
		c.DialAttempts = 6
	}
	if c.Backoff <= 0 {
		c.Backoff = 50 * time.Millisecond
	}
	return c
}

// pool holds the connections to one destination and puts each command on
// the least-loaded one that can take it.
//
// Every request of a pool has the same key, so everything in the key is
// the same for all; what is not in the key (HashKnownHosts,
// ConnectTimeout, LogLevel, ...) is taken from the request that a dial is
// made for.
type pool struct {
	key    string
	server string // host:port, the key of what is learned
	cfg    PoolConfig
	dialFn DialFunc
	limits *limitStore
	log    *slog.Logger
	ctx    context.Context // the master's: connections outlive requests
	wg     *sync.WaitGroup // the master's: every goroutine started here

	// mu guards the fields that follow, and every pooledConn's fields.
	// Lock order: Master.mu → pool.mu → limitStore.mu (the master's
	// reaper holds its mu across closeIdle; a pool reads and changes the
	// limits with its own held, and never writes the file then).
	mu      sync.Mutex
	conns   []*pooledConn
	nextID  int
	dialing int                  // dials in flight
	asking  int                  // of which waiting for a user's answer
	waiters map[*waiter]struct{} // requests waiting for a channel slot
	changed chan struct{}        // closed and replaced whenever a slot may have freed
	failGen int                  // bumped when a dial fails with nothing else left
	failErr error
	// ownFail holds the failures of dials whose requester alone is to
	// blame (it left, or its user declined a question): they go to that
	// requester only, and the other waiters dial again.
	ownFail  map[*waiter]error
	lastUsed time.Time
	stats    PoolStats
	closed   bool // closeAll ran: a dial that ends later closes its connection
	// oneSessionSeen counts connections that ended right after their only
	// command (onesession.go).
	oneSessionSeen int
}

// pooledConn is one connection of a pool and what is known about it.
type pooledConn struct {
	*conn
	id       int
	open     int      // channels open now
	used     int      // channels opened over its life
	refusals refusals // what its opens and refusals showed
	limit    int      // channels it may carry at once; 0: not known
	retired  bool     // takes no new channels (the server refused reuse)
	stalled  bool     // an open went unanswered: no new channels until it answers a probe
	// warm is a session channel opened ahead for the next command, in a
	// slot of its own (not counted in open); warmRefused counts refusals
	// of it in a row with nothing else open; warmAlone, set by a refusal
	// beside commands, keeps warm channels to an idle connection.
	warm        *pendingOpen
	warmRefused int
	warmAlone   bool
	rearming    bool          // a round trip before the next warm channel is in flight
	linkRTT     time.Duration // the shortest round trip seen: channel opens and probes (warmTrust)
	opening     int           // of the open channels, those whose open is unanswered yet
	idle        time.Time     // when open last dropped to 0

	sessions sessionLog // what its commands' ends showed (onesession.go)
}

// PoolStats is what -O status shows for one destination.
type PoolStats struct {
	Destination string    `json:"destination"`
	Key         string    `json:"key"`
	Conns       int       `json:"connections"`
	Open        int       `json:"open_channels"`
	Limit       int       `json:"learned_limit"`
	NoReuse     bool      `json:"no_reuse,omitempty"`
	Commands    int64     `json:"commands"`
	Dials       int64     `json:"dials"`
	DialErrors  int64     `json:"dial_errors"`
	Refusals    int64     `json:"channel_refusals"`
	WarmOpen    int       `json:"warm_channels"`             // connections holding a warm channel now
	Warm        int64     `json:"commands_on_warm_channels"` // commands that ran on one
	NoWarm      bool      `json:"no_warm,omitempty"`
	BytesIn     int64     `json:"bytes_in"`
	BytesOut    int64     `json:"bytes_out"`
	Since       time.Time `json:"since"`

	// OneSession is a server that ends a connection after its first
	// session (serverLimits.OneSession).
	OneSession bool `json:"one_session,omitempty"`
	// Redelivered counts commands run again on another connection because
	// theirs ended before a byte crossed it (see notDeliveredError).
	Redelivered int64 `json:"redelivered,omitempty"`
}

func newPool(ctx context.Context, wg *sync.WaitGroup, key string, d config.Destination, cfg PoolConfig, dialFn DialFunc, limits *limitStore, log *slog.Logger) *pool {
	return &pool{
		key:     key,
		server:  net.JoinHostPort(d.HostName, strconv.Itoa(d.Port)),
		cfg:     cfg.withDefaults(),
		dialFn:  dialFn,
		limits:  limits,
		log:     log.With("dest", d.Alias),
		ctx:     ctx,
		wg:      wg,
		changed: make(chan struct{}),
		waiters: make(map[*waiter]struct{}),
		stats:   PoolStats{Destination: d.User + "@" + d.Alias, Key: key, Since: time.Now()},
	}
}

// broadcast wakes every waiter. p.mu must be held.
func (p *pool) broadcast() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// run runs cmd on a channel of one of the pool's connections. A channel the
// server refuses is retried on another connection, silently; a command that
// has started is never run twice.
//
// A connection that has to be dialled for it is dialled with d and opts.
func (p *pool) run(ctx context.Context, d config.Destination, cmd Command, opts dial.Options) (int, error) {
	p.mu.Lock()
	p.stats.Commands++
	p.mu.Unlock()
	warmOK := true // false once a warm channel was found dead
	for attempt := 0; ; attempt++ {
		pc, reserved, warm, err := p.acquire(ctx, d, opts, warmOK)
		if err != nil {
			return ExitStatusLost, &notStartedError{err}
		}
		o := warm
		if o == nil {
			o = p.startOpen(pc, reserved)
		} else if !p.verifyWarm(ctx, pc) {
			// Silent for too long, and it does not answer: nothing was
			// sent, so the command moves elsewhere.
			p.abandon(o)
			if ctx.Err() != nil {
				return ExitStatusLost, &notStartedError{ctx.Err()}
			}
			warmOK = false
			continue
		} else if cmd.Debugf != nil {
			cmd.Debugf("running on a warm channel")
		}
		s, pc, reserved, err := p.await(ctx, o, d, opts)
		var status int
		if err == nil {
			status, err = p.runOn(ctx, pc, s, cmd)
			if warm != nil && s == warm.s && staleWarm(err) {
				// The server had closed the channel: nothing ran.
				p.release(pc)
				warmOK = false
				continue
			}
		} else if _, opening := errors.AsType[*openError](err); !opening {
			return ExitStatusLost, &notStartedError{err}
		}
		if nd, ok := errors.AsType[*notDeliveredError](err); ok && attempt < 2*p.cfg.MaxConns {
			p.notDelivered(pc)
			if cmd.Debugf != nil {
				cmd.Debugf("connection closed before the command reached the server; running it on another connection")
			}
			cmd.Stdin = withHeld(cmd.Stdin, nd)
			continue
		}
		oe, refused := errors.AsType[*openError](err)
		if !refused {
			p.release(pc)
			return status, err
		}
		p.openFailed(pc, reserved, oe)
		if attempt >= 2*p.cfg.MaxConns {
			return ExitStatusLost, oe.err
		}
	}
}

// runOn runs cmd on s, a session channel open on pc, counting its bytes.
func (p *pool) runOn(ctx context.Context, pc *pooledConn, s *ssh.Session, cmd Command) (int, error) {
	counted := cmd
	counted.open = func() (*ssh.Session, error) { return s, nil }
	in := &countingReader{r: cmd.Stdin}
	out := &countingWriter{w: cmd.Stdout}
	errOut := &countingWriter{w: cmd.Stderr}
	counted.Stdin, counted.Stdout, counted.Stderr = in, out, errOut
	status, err := runSession(ctx, pc.conn, counted)
	p.mu.Lock()
	p.stats.BytesOut += in.n.Load()
	p.stats.BytesIn += out.n.Load() + errOut.n.Load()
	p.mu.Unlock()
	return status, err
}

// waiter is one request waiting in acquire, and what a dial made for it
// dials and asks its user with.
type waiter struct {
	ctx  context.Context
	dest config.Destination
	opts dial.Options
	// asking counts its dials that wait for its user's answer: they carry
	// no one else until it comes. Guarded by the pool's mu.
	asking int
}

// acquire reserves a channel slot on the least-loaded live connection that
// can take one, dialling new connections (with d and opts) when all are
// full. reserved is when the slot was taken, for openFailed.
//
// With warmOK, a connection's warm channel is taken when it has one, and
// returned as warm: its open is under way or done, in the slot reserved.
func (p *pool) acquire(ctx context.Context, d config.Destination, opts dial.Options, warmOK bool) (pc *pooledConn, reserved time.Time, warm *pendingOpen, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	gen := p.failGen
	me := &waiter{ctx: ctx, dest: d, opts: opts}
	p.waiters[me] = struct{}{}
	defer delete(p.waiters, me)
	defer delete(p.ownFail, me)
	for {
		if p.closed {
			return nil, time.Time{}, nil, ErrMasterExited
		}
		p.dropDead()
		if err, ok := p.ownFail[me]; ok {
			return nil, time.Time{}, nil, err
		}
		if pc := p.pick(warmOK); pc != nil {
			p.lastUsed = time.Now()
			if warmOK && pc.warmUsable() {
				o := p.takeWarm(pc)
				return pc, o.reserved, o, nil
			}
			pc.open++
			pc.used++
			return pc, time.Now(), nil, nil
		}
		if p.failGen != gen && len(p.conns) == 0 && p.dialing == 0 {
			return nil, time.Time{}, nil, p.failErr
		}
		p.maybeDial(me)
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			p.mu.Lock()
			return nil, time.Time{}, nil, ctx.Err()
		}
		p.mu.Lock()
	}
}

// pick returns the live connection that can take a channel: one with a
// warm channel (when warmOK) first, else the one with the fewest open
// channels among those below their limit (a warm channel holds a slot of
// its own). p.mu must be held.
func (p *pool) pick(warmOK bool) *pooledConn {
	var best *pooledConn
	bestWarm := false
	for _, pc := range p.conns {
		if pc.retired || pc.stalled || pc.refusals.settling {
			continue
		}
		hasWarm := warmOK && pc.warmUsable()
		held := 0
		if pc.warm != nil && !hasWarm {
			held = 1
		}
		if !hasWarm && pc.open+held >= p.connLimit(pc) {
			continue
		}
		if best == nil || (hasWarm && !bestWarm) || (hasWarm == bestWarm && pc.open < best.open) {
			best, bestWarm = pc, hasWarm
		}
	}
	return best
}

// channelsPerConn is how many channels a connection is expected to carry.
func (p *pool) channelsPerConn() int {
	l := p.limits.get(p.server)
	switch {
	case l.NoReuse || l.OneSession:
		return 1
	case l.Channels > 0:
		return l.Channels
	}
	return p.cfg.GuessChannels
}

// maybeDial starts a dial for req when the waiting requests exceed what
// the dials in flight are expected to carry, within the pool's bounds. The
// dial asks the user, if it must, through req's opts; if req is gone
// (its ctx done) or its user declined a question when the dial fails, the
// failure is req's alone and the other waiters dial again, each asking its
// own user, as separate ssh processes would.
//
// A dial waiting for its user's answer may wait forever (a terminal nobody
// watches): until the answer comes it carries only its requester, and the
// other waiters dial on their own. A requester whose user is being asked
// starts no other dial (one question at a time). p.mu must be held.
func (p *pool) maybeDial(req *waiter) {
	if req.asking > 0 {
		return
	}
	waiting := 0
	for w := range p.waiters {
		if w.asking == 0 {
			waiting++
		}
	}
	if waiting <= (p.dialing-p.asking)*p.channelsPerConn() {
		return
	}
	for _, pc := range p.conns {
		if pc.refusals.settling && (pc.limit == 0 || pc.open < pc.limit) {
			return // it takes channels again in a round trip
		}
	}
	if len(p.conns)+p.dialing >= p.cfg.MaxConns || p.dialing >= p.cfg.MaxHandshakes {
		return
	}
	p.dialing++
	p.stats.Dials++
	p.wg.Add(1)
	opts := req.opts
	asked := &askRecorder{Prompter: opts.Prompter, asking: func(on bool) { p.askingChanged(req, on) }}
	if opts.Prompter != nil {
		opts.Prompter = asked
	}
	go func() {
		defer p.wg.Done()
		c, err := p.dialWithRetry(req.dest, opts)
		p.mu.Lock()
		defer p.mu.Unlock()
		p.dialing--
		if err != nil {
			p.stats.DialErrors++
			p.log.Warn("dial failed", "err", err)
			if req.ctx.Err() != nil || asked.declined.Load() {
				if p.ownFail == nil {
					p.ownFail = make(map[*waiter]error)
				}
				p.ownFail[req] = err
			} else if len(p.conns) == 0 && p.dialing == 0 {
				p.failGen++
				p.failErr = err
			}
		} else if p.closed {
			p.wg.Go(c.close)
		} else {
			l := p.limits.get(p.server)
			p.nextID++
			pc := &pooledConn{conn: c, id: p.nextID, limit: l.Channels, idle: time.Now()}
			if l.OneSession {
				pc.limit = 1
			}
			p.conns = append(p.conns, pc)
			p.log.Info("connected", "conn", pc.id, "limit", pc.limit)
			p.arm(pc)
		}
		p.broadcast()
	}()
}

// askingChanged notes that a dial for req started (on) or stopped waiting
// for its user's answer, and wakes the waiters: what the dials in flight
// carry has changed.
func (p *pool) askingChanged(req *waiter, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := -1
	if on {
		n = 1
	}
	p.asking += n
	req.asking += n
	p.broadcast()
}

// dialWithRetry dials d, retrying with backoff a handshake the server broke
// off before key exchange: that is what servers do to bursts of new
// connections (OpenSSH's MaxStartups, dropbear's per-address limit), and
// nothing was sent that a retry could repeat.
func (p *pool) dialWithRetry(d config.Destination, opts dial.Options) (*conn, error) {
	wait := p.cfg.Backoff
	for attempt := 1; ; attempt++ {
		c, err := dialConn(p.ctx, p.dialFn, d, opts)
		if err == nil {
			return c, nil
		}
		if !retryable(err) || attempt >= p.cfg.DialAttempts {
			return nil, err
		}
		p.log.Info("handshake broken off, retrying", "attempt", attempt, "err", err)
		jitter := time.Duration(rand.Int64N(int64(wait)/2 + 1))
		select {
		case <-time.After(wait + jitter):
		case <-p.ctx.Done():
			return nil, err
		}
		wait *= 2
	}
}

// retryable reports whether a failed dial may succeed when tried again: a
// server broke off the handshake before key exchange, and no ProxyCommand
// failed on its own (it would fail again, and run again for nothing).
func retryable(err error) bool {
	hs, ok := errors.AsType[*dial.HandshakeError](err)
	_, proxyFailed := errors.AsType[*dial.ProxyExitError](err)
	return ok && hs.BeforeKex && !proxyFailed
}

// release returns pc's slot after a command ran on it.
func (p *pool) release(pc *pooledConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pc.open--
	pc.refusals.ended(time.Now())
	pc.sessions.ended(time.Now())
	if pc.open == 0 {
		pc.idle = time.Now()
	}
	switch {
	case p.limits.get(p.server).NoReuse, p.limits.get(p.server).OneSession:
		pc.retired = true
	case pc.limit > 0 && pc.open == pc.limit-1 && !pc.retired:
		// The slot just freed is the last one: sshd would refuse a
		// channel opened on it before its main loop has freed the
		// closed one. Other connections take channels meanwhile.
		p.settle(pc, 0)
	}
	if pc.retired && pc.open == 0 {
		p.closeConn(pc)
	}
	p.rearm(pc)
	p.lastUsed = time.Now()
	p.broadcast()
}

// remember records what was learned about the server and saves it in a
// goroutine of its own: the file is not written with p.mu held. p.mu must
// be held.
func (p *pool) remember(change func(*serverLimits)) {
	p.limits.learn(p.server, change)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if err := p.limits.save(); err != nil {
			p.log.Warn("cannot save server limits", "err", err)
		}
	}()
}

// dropDead forgets connections that have ended. p.mu must be held.
func (p *pool) dropDead() {
	live := p.conns[:0]
	for _, pc := range p.conns {
		if pc.alive() {
			live = append(live, pc)
		} else {
			p.log.Info("connection ended", "conn", pc.id, "err", pc.err)
			p.judgeEnd(pc)
		}
	}
	if len(live) < len(p.conns) {
		p.broadcast() // a slot in MaxConns has freed
	}
	clear(p.conns[len(live):])
	p.conns = live
}

// closeConn closes pc and removes it, and wakes the waiters (a slot in
// MaxConns has freed). p.mu must be held; the close itself runs outside the
// lock.
func (p *pool) closeConn(pc *pooledConn) {
	if !pc.alive() {
		p.judgeEnd(pc) // the server ended it first
	}
	for i, c := range p.conns {
		if c == pc {
			p.conns = append(p.conns[:i], p.conns[i+1:]...)
			break
		}
	}
	p.broadcast()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		pc.close()
	}()
}

// closeIdle closes connections idle for longer than persist and reports
// whether the pool is now empty and unused for that long. A zero persist
// keeps connections until the master is told to exit.
func (p *pool) closeIdle(persist time.Duration, now time.Time) (empty bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropDead()
	for _, pc := range append([]*pooledConn(nil), p.conns...) {
		if pc.open == 0 && (pc.retired || (persist > 0 && now.Sub(pc.idle) >= persist)) {
			p.closeConn(pc)
		}
	}
	return persist > 0 && len(p.conns) == 0 && p.dialing == 0 && len(p.waiters) == 0 && now.Sub(p.lastUsed) >= persist
}

// closeAll closes every connection, for the master's exit.
func (p *pool) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, pc := range append([]*pooledConn(nil), p.conns...) {
		p.closeConn(pc)
	}
	p.broadcast()
}

// snapshot returns the pool's statistics.
func (p *pool) snapshot() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Conns = len(p.conns)
	for _, pc := range p.conns {
		s.Open += pc.open
		if pc.warm != nil {
			s.WarmOpen++
		}
	}
	l := p.limits.get(p.server)
	s.Limit, s.NoReuse, s.OneSession, s.NoWarm = l.Channels, l.NoReuse, l.OneSession, l.NoWarm
	return s
}

// notStartedError is a command that failed before a channel was opened for
// it: nothing ran, so it may be run elsewhere.
type notStartedError struct{ err error }

func (e *notStartedError) Error() string { return e.err.Error() }
func (e *notStartedError) Unwrap() error { return e.err }
