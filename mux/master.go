package mux

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/gitssh/gitssh/config"
	"github.com/gitssh/gitssh/dial"
)

// MasterConfig configures a Master. Zero values mean the defaults.
type MasterConfig struct {
	// Version is sent in the hello; a client of another version stops this
	// master and starts its own.
	Version string
	// Persist is how long the master lives with no connection and no
	// command (ControlPersist). If zero, it lives until told to exit.
	Persist time.Duration
	// LimitsFile is where learned server limits are kept. If empty, they
	// are kept in memory only.
	LimitsFile string
	// Logger receives the master's log. If nil, nothing is logged.
	Logger *slog.Logger
	// Dial makes connections. If nil, dial.Dial is used.
	Dial DialFunc
	// Pool bounds each destination's pool.
	Pool PoolConfig
	// NewReporter makes the Reporter for one command from its stderr and
	// its Destination (whose LogLevel says how much to say). If nil,
	// errors are written plainly.
	NewReporter func(stderr io.Writer, d config.Destination) Reporter
	// ProxyStderr receives a ProxyCommand's stderr once the command that
	// started it has ended (the proxy lives as long as its connection).
	// If nil, it is dropped.
	ProxyStderr io.Writer
}

// Master keeps pooled connections and runs the commands clients send it.
type Master struct {
	cfg    MasterConfig
	log    *slog.Logger
	limits *limitStore
	start  time.Time

	mu       sync.Mutex // guards the fields that follow
	pools    map[string]*pool
	active   int             // clients being served
	running  int             // of which commands (the rest are control requests)
	lastSeen time.Time       // when the last client finished
	stopping bool            // -O stop: no new clients; exit when idle
	ctx      context.Context // Run's: pools and their connections live on it
	exit     context.CancelFunc
	ln       net.Listener
}

// NewMaster returns a master ready to Run.
func NewMaster(cfg MasterConfig) *Master {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Dial == nil {
		cfg.Dial = dial.Dial
	}
	if cfg.NewReporter == nil {
		cfg.NewReporter = func(w io.Writer, _ config.Destination) Reporter { return plainReporter{w} }
	}
	return &Master{
		cfg:      cfg,
		log:      cfg.Logger,
		limits:   loadLimits(cfg.LimitsFile, cfg.Logger),
		start:    time.Now(),
		pools:    make(map[string]*pool),
		lastSeen: time.Now(),
	}
}

// Run serves clients on ln until ctx is done, the master is told to exit,
// or it has been idle for the persist time. It closes ln and every
// connection before it returns.
func (m *Master) Run(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m.mu.Lock()
	m.ctx, m.exit, m.ln = ctx, cancel, ln
	m.mu.Unlock()

	var wg sync.WaitGroup
	defer wg.Wait()
	stopAccept := context.AfterFunc(ctx, func() { ln.Close() })
	defer stopAccept()

	wg.Add(1)
	go func() {
		defer wg.Done()
		m.reapIdle(ctx, cancel)
	}()

	m.log.Info("master started", "pid", os.Getpid(), "version", m.cfg.Version)
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || m.isStopping() {
				break
			}
			m.log.Error("accept", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		m.mu.Lock()
		m.active++
		m.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.serve(ctx, &wg, c)
			m.mu.Lock()
			m.active--
			m.lastSeen = time.Now()
			m.mu.Unlock()
		}()
	}
	<-ctx.Done() // when stopping, reapIdle ends it after the last command
	m.mu.Lock()
	pools := make([]*pool, 0, len(m.pools))
	for _, p := range m.pools {
		pools = append(pools, p)
	}
	m.mu.Unlock()
	for _, p := range pools {
		p.closeAll()
	}
	m.log.Info("master exiting")
	return nil
}

// reapIdle closes idle connections and ends the master once it has had no
// client and no connection for the persist time, or once it is stopping
// and idle.
func (m *Master) reapIdle(ctx context.Context, exit context.CancelFunc) {
	tick := time.Second
	if p := m.cfg.Persist; p > 0 && p/4 < tick {
		tick = max(p/4, 10*time.Millisecond)
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			m.mu.Lock()
			empty := true
			for key, p := range m.pools {
				if p.closeIdle(m.cfg.Persist, now) {
					delete(m.pools, key)
				} else {
					empty = false
				}
			}
			done := m.active == 0 && (m.stopping || (empty && m.cfg.Persist > 0 && now.Sub(m.lastSeen) >= m.cfg.Persist))
			m.mu.Unlock()
			if done {
				m.log.Info("idle, exiting")
				exit()
				return
			}
		}
	}
}

// serve handles one client connection: a command or a control request.
func (m *Master) serve(ctx context.Context, wg *sync.WaitGroup, c net.Conn) {
	cc := newControlConn(c)
	defer cc.close()
	if err := checkPeer(c); err != nil {
		m.log.Warn("refusing control client", "err", err)
		return
	}
	theirs, helloErr := exchangeHello(cc, m.cfg.Version)
	var mismatch *VersionMismatchError
	if helloErr != nil && !errors.As(helloErr, &mismatch) {
		// Also what a probe for a live master looks like: not a warning.
		m.log.Debug("hello", "err", helloErr)
		return
	}
	if helloErr == nil && theirs.Program != m.cfg.Version {
		// Another build of gitssh takes this master for another
		// version's, and runs its commands elsewhere: a run it sends
		// anyway is not run here.
		mismatch = &VersionMismatchError{Ours: protocolVersion, Theirs: theirs.Version, OursProgram: m.cfg.Version, TheirsProgram: theirs.Program}
		helloErr = mismatch
	}
	t, body, files, err := cc.readMsg()
	if err != nil {
		return
	}
	if t != msgControl && (mismatch != nil || (t != msgRun && t != msgRunRelay)) {
		dropFiles(files)
		m.log.Warn("unexpected control message", "type", t, "err", helloErr)
		return
	}
	if t == msgControl {
		var req controlReq
		if err := json.Unmarshal(body, &req); err == nil {
			m.control(cc, req)
		}
		return
	}
	stdio, closeStdio := Stdio{}, func() {}
	if t == msgRun {
		stdio, closeStdio = passedStdio(files)
	}
	defer closeStdio()
	var req Request
	if err := json.Unmarshal(body, &req); err != nil {
		m.log.Warn("bad run request", "err", err)
		return
	}
	m.runCommand(ctx, wg, cc, req, stdio, t == msgRunRelay)
}

// poolFor returns the pool for req's key, making it on first use. Pools
// live on the master's context, not the request's.
func (m *Master) poolFor(wg *sync.WaitGroup, req Request) *pool {
	key := req.poolKey()
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.pools[key]
	if !ok {
		p = newPool(m.ctx, wg, key, req.Dest, m.cfg.Pool, m.cfg.Dial, m.limits, m.log)
		m.pools[key] = p
	}
	return p
}

// control answers -O check, exit, stop and status.
func (m *Master) control(cc *controlConn, req controlReq) {
	reply := controlReply{OK: true, PID: os.Getpid()}
	switch req.Command {
	case "check":
	case "exit":
		defer m.requestExit()
	case "stop":
		m.mu.Lock()
		m.stopping = true
		ln := m.ln
		m.mu.Unlock()
		ln.Close() // removes the socket: a new master may start now
	case "status":
		st := m.Status()
		reply.Status = &st
	default:
		reply = controlReply{Error: fmt.Sprintf("unsupported control command %q", req.Command)}
	}
	if err := cc.writeMsg(msgControlReply, reply); err != nil {
		m.log.Debug("control reply", "err", err)
	}
}

func (m *Master) isStopping() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stopping
}

func (m *Master) requestExit() {
	m.mu.Lock()
	exit := m.exit
	m.mu.Unlock()
	if exit != nil {
		exit()
	}
}

// MasterStatus is what -O status shows.
type MasterStatus struct {
	PID     int         `json:"pid"`
	Version string      `json:"version"`
	Uptime  string      `json:"uptime"`
	Clients int         `json:"clients"` // connected, this status request included
	Running int         `json:"running_commands"`
	Pools   []PoolStats `json:"destinations"`
}

// Status returns the master's statistics.
func (m *Master) Status() MasterStatus {
	m.mu.Lock()
	pools := make([]*pool, 0, len(m.pools))
	for _, p := range m.pools {
		pools = append(pools, p)
	}
	st := MasterStatus{PID: os.Getpid(), Version: m.cfg.Version, Uptime: time.Since(m.start).Round(time.Second).String(), Clients: m.active, Running: m.running}
	m.mu.Unlock()
	for _, p := range pools {
		st.Pools = append(st.Pools, p.snapshot())
	}
	sort.Slice(st.Pools, func(i, j int) bool { return st.Pools[i].Destination < st.Pools[j].Destination })
	return st
}

// plainReporter is the fallback Reporter: the error as it is.
type plainReporter struct{ w io.Writer }

func (r plainReporter) Debugf(string, ...any) {}
func (r plainReporter) Warnf(format string, args ...any) {
	fmt.Fprintf(r.w, format+"\n", args...)
}
func (r plainReporter) Report(err error, _ config.Destination) {
	fmt.Fprintf(r.w, "gitssh: %v\n", err)
}

// Serve listens on the control socket at path and runs the master until it
// exits. ready is called once the socket accepts connections.
func (m *Master) Serve(ctx context.Context, path string, ready func()) error {
	ln, err := listenControl(path)
	if err != nil {
		return err
	}
	ready()
	return m.Run(ctx, ln)
}
