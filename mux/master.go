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
	"strings"
	"sync"
	"time"

	"github.com/gitssh/gitssh/config"
	"github.com/gitssh/gitssh/dial"
)

// RunRequest is the body of a msgRun: one command for the master to run.
// Its three descriptors travel with it (stdin, stdout, stderr).
type RunRequest struct {
	Dest    config.Destination `json:"dest"`
	Key     string             `json:"key"` // the pool: see PoolKey
	Command string             `json:"command"`
	Env     []string           `json:"env,omitempty"`
	// Verbose and Quiet are the client's -v count and -q.
	Verbose int  `json:"verbose,omitempty"`
	Quiet   bool `json:"quiet,omitempty"`
	// AuthSock is the client's SSH_AUTH_SOCK.
	AuthSock string `json:"auth_sock,omitempty"`
}

// PoolKey names the pool a command may share: the Destination's key and
// the agent it would authenticate with. Two commands share a connection
// only if they would have authenticated the same way to the same server.
func PoolKey(d config.Destination, authSock string) string {
	if d.IdentityAgent == "none" || (d.IdentityAgent != "" && d.IdentityAgent != "SSH_AUTH_SOCK") {
		authSock = ""
	}
	return d.Key() + "/" + authSock
}

// Reporter is how the master speaks to the user of one command: on that
// command's own stderr, in the gitssh command's words.
type Reporter interface {
	Debugf(format string, args ...any)
	Warnf(format string, args ...any)
	// Report words a failed command's error and returns its exit status.
	Report(err error, d config.Destination) int
}

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
	// its -v and -q flags. If nil, errors are written plainly.
	NewReporter func(stderr io.Writer, verbose int, quiet bool) Reporter
	// ProxyStderr receives ProxyCommands' stderr. If nil, it is dropped.
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
	ln       *net.UnixListener
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
		cfg.NewReporter = func(w io.Writer, _ int, _ bool) Reporter { return plainReporter{w} }
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
func (m *Master) Run(ctx context.Context, ln *net.UnixListener) error {
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
		c, err := ln.AcceptUnix()
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

// serve handles one client connection.
func (m *Master) serve(ctx context.Context, wg *sync.WaitGroup, uc *net.UnixConn) {
	cc := newControlConn(uc)
	defer cc.close()
	uid, err := peerUID(uc)
	if err != nil || uid != os.Getuid() {
		m.log.Warn("refusing control client", "uid", uid, "err", err)
		return
	}
	_, helloErr := serverHello(cc, m.cfg.Version)
	var mismatch *VersionMismatchError
	if helloErr != nil && !errors.As(helloErr, &mismatch) {
		// Also what a probe for a live master looks like: not a warning.
		m.log.Debug("hello", "err", helloErr)
		return
	}
	t, body, files, err := cc.readMsg()
	if err != nil {
		return
	}
	switch {
	case t == msgControl:
		dropFiles(files)
		var req controlReq
		if err := json.Unmarshal(body, &req); err != nil {
			return
		}
		m.control(cc, req)
	case t == msgRun && mismatch == nil && len(files) == 3:
		var req RunRequest
		if err := json.Unmarshal(body, &req); err != nil {
			dropFiles(files)
			cc.writeMsg(msgExit, exitMsg{Status: ExitStatusLost, Err: "bad run request: " + err.Error()})
			return
		}
		m.runCommand(ctx, wg, uc, cc, req, files)
	default:
		dropFiles(files)
		m.log.Warn("unexpected control message", "type", t)
	}
}

// runCommand runs one client's command and reports its exit status.
func (m *Master) runCommand(ctx context.Context, wg *sync.WaitGroup, uc *net.UnixConn, cc *controlConn, req RunRequest, files []*os.File) {
	stdin, stdout, stderr := newPassedStdin(files[0]), files[1], files[2]
	defer stdin.Close()
	defer stdout.Close()
	defer stderr.Close()

	// The client going away (git killed it, or it was interrupted) cancels
	// its command. Its messages are answers to prompts.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	prompts := &remotePrompter{cc: cc, ctx: ctx, answers: make(chan answer, 1)}
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer cancel()
		for {
			t, body, files, err := cc.readMsg()
			dropFiles(files)
			if err != nil {
				return
			}
			if t == msgAnswer {
				var a answer
				if json.Unmarshal(body, &a) == nil {
					select {
					case prompts.answers <- a:
					default:
					}
				}
			}
		}
	}()

	m.mu.Lock()
	m.running++
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.running--
		m.mu.Unlock()
	}()
	rep := m.cfg.NewReporter(stderr, req.Verbose, req.Quiet)
	p := m.poolFor(wg, req)
	cmd := Command{Line: req.Command, Env: req.Env, Stdin: stdin, Stdout: stdout, Stderr: stderr, Debugf: rep.Debugf}
	opts := dial.Options{Prompter: prompts, AuthSock: req.AuthSock, Debugf: rep.Debugf, Warnf: rep.Warnf, ProxyStderr: m.cfg.ProxyStderr}
	status, err := p.run(ctx, req.Dest, cmd, opts)
	_, notStarted := errors.AsType[*notStartedError](err)
	exiting := notStarted && m.ctx.Err() != nil
	// The master's context is looked at first: its cancellation reaches
	// this command's context a moment later, not at once.
	switch {
	case err == nil, exiting:
	case m.ctx.Err() != nil:
		status = rep.Report(ErrMasterExited, req.Dest)
	case ctx.Err() == nil:
		status = rep.Report(err, req.Dest)
	}
	m.log.Debug("command done", "dest", req.Dest.Alias, "status", status, "err", err, "not_started", exiting)
	if err := cc.writeMsg(msgExit, exitMsg{Status: status, NotStarted: exiting}); err != nil {
		m.log.Debug("report exit", "err", err)
	}
	uc.SetReadDeadline(time.Unix(1, 0)) // ends the reader
	<-readerDone
}

// poolFor returns the pool for req's key, making it on first use. Pools
// live on the master's context, not the request's.
func (m *Master) poolFor(wg *sync.WaitGroup, req RunRequest) *pool {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.pools[req.Key]
	if !ok {
		p = newPool(m.ctx, wg, req.Key, req.Dest, m.cfg.Pool, m.cfg.Dial, m.limits, m.log)
		m.pools[req.Key] = p
	}
	return p
}

// control answers -O check, exit, stop and status.
func (m *Master) control(cc *controlConn, req controlReq) {
	reply := controlReply{OK: true}
	switch req.Command {
	case "check":
		reply.Text = fmt.Sprintf("Master running (pid=%d)", os.Getpid())
	case "exit":
		reply.Text = "Exit request sent."
		defer m.requestExit()
	case "stop":
		reply.Text = "Stop listening request sent."
		m.mu.Lock()
		m.stopping = true
		ln := m.ln
		m.mu.Unlock()
		ln.Close() // removes the socket: a new master may start now
	case "status", "status-json":
		st := m.Status()
		b, _ := json.Marshal(st)
		reply.Status = b
		reply.Text = st.String()
	default:
		reply = controlReply{Text: fmt.Sprintf("unsupported control command %q", req.Command)}
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

// String formats the status for people.
func (s MasterStatus) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "master pid %d, version %s, up %s, %d commands running\n", s.PID, s.Version, s.Uptime, s.Running)
	fmt.Fprintf(&b, "%-32s %5s %5s %5s %8s %6s %7s %10s %10s\n", "DESTINATION", "CONNS", "OPEN", "LIMIT", "COMMANDS", "DIALS", "SAVED", "IN", "OUT")
	for _, p := range s.Pools {
		limit := "-"
		if p.NoReuse {
			limit = "1x"
		} else if p.Limit > 0 {
			limit = fmt.Sprint(p.Limit)
		}
		fmt.Fprintf(&b, "%-32s %5d %5d %5s %8d %6d %7d %10d %10d\n", p.Destination, p.Conns, p.Open, limit, p.Commands, p.Dials, p.Commands-p.Dials, p.BytesIn, p.BytesOut)
	}
	return b.String()
}

// plainReporter is the fallback Reporter: the error as it is.
type plainReporter struct{ w io.Writer }

func (r plainReporter) Debugf(string, ...any) {}
func (r plainReporter) Warnf(format string, args ...any) {
	fmt.Fprintf(r.w, format+"\n", args...)
}
func (r plainReporter) Report(err error, _ config.Destination) int {
	fmt.Fprintf(r.w, "gitssh: %v\n", err)
	return ExitStatusLost
}

// remotePrompter asks the user through the client that requested the
// command, which asks on its terminal or with its askpass program.
type remotePrompter struct {
	cc      *controlConn
	ctx     context.Context
	answers chan answer

	mu     sync.Mutex // one question at a time; guards nextID
	nextID int
}

func (r *remotePrompter) Secret(text string) (string, error)  { return r.ask(text, false) }
func (r *remotePrompter) Confirm(text string) (string, error) { return r.ask(text, true) }

func (r *remotePrompter) ask(text string, echo bool) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nextID++
	if err := r.cc.writeMsg(msgPrompt, prompt{ID: r.nextID, Echo: echo, Text: text}); err != nil {
		return "", err
	}
	select {
	case a := <-r.answers:
		if a.Err != "" {
			return "", errors.New(a.Err)
		}
		return a.Text, nil
	case <-r.ctx.Done():
		return "", r.ctx.Err()
	}
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
