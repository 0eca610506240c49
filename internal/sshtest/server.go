package sshtest

import (
	"bytes"
	"errors"
	"maps"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Options injects faults into a [Server]. The zero value is a well-behaved
// server that accepts [UserSigner] for any user name.
type Options struct {
	// AcceptEnv lists the variable names accepted in env requests; others
	// are answered with failure. If nil, only GIT_PROTOCOL is accepted (as
	// with OpenSSH's "AcceptEnv GIT_PROTOCOL"). Use an empty non-nil slice
	// to refuse every variable.
	AcceptEnv []string

	// MaxChannelsPerConn, if positive, is how many session channels may be
	// open at once on one connection; the next one is refused with
	// RefuseReason and RefuseMessage. A channel counts from its open until
	// its command ends, or until the client closes it. If zero, there is no
	// limit.
	MaxChannelsPerConn int

	// NoReuseAfterClose refuses any session channel on a connection that
	// has already had one, like servers that serve one command per
	// connection.
	NoReuseAfterClose bool

	// CloseAfterFirstSession ends the whole connection when its first
	// session channel has ended (after the exit status and the channel's
	// close), like tinysshd, which serves one session per connection.
	// Combine it with MaxChannelsPerConn 1 for tinysshd's refusal of a
	// second concurrent channel.
	CloseAfterFirstSession bool

	// IdleTimeout, if positive, ends a connection on which the client sent
	// no channel traffic for that long, like dropbear's -I: channel opens,
	// channel requests (a keepalive@openssh.com channel request included)
	// and stdin data the command reads count; global requests, keepalives
	// among them, do not, nor does anything the server sends.
	IdleTimeout time.Duration

	// RefuseReason is the reason sent with a refused channel. If zero,
	// ssh.Prohibited is used (Bitbucket Cloud). OpenSSH's MaxSessions sends
	// ssh.ConnectionFailed, gitlab-sshd ssh.ResourceShortage.
	RefuseReason ssh.RejectionReason

	// RefuseMessage is the message sent with a refused channel. If empty,
	// the message the server that uses RefuseReason sends: "cannot open
	// additional channels" (Bitbucket Cloud), "open failed" (OpenSSH) or
	// "too many concurrent sessions" (gitlab-sshd).
	RefuseMessage string

	// RefuseShell answers shell requests with failure
	// (SSH_MSG_CHANNEL_FAILURE), like Bitbucket Server's git-only port,
	// while exec requests work.
	RefuseShell bool

	// IgnoreKeepalives drops keepalive@openssh.com requests, global and
	// channel ones, without a reply, like a server behind a dead link. By
	// default they are answered with failure, as OpenSSH's sshd does.
	IgnoreKeepalives bool

	// AuthDelay delays each public key check, like a slow server.
	AuthDelay time.Duration

	// Banner, if not empty, is sent as the pre-authentication banner.
	Banner string
}

func (o Options) refusal() (ssh.RejectionReason, string) {
	reason := o.RefuseReason
	if reason == 0 {
		reason = ssh.Prohibited
	}
	msg := o.RefuseMessage
	if msg == "" {
		switch reason {
		case ssh.ConnectionFailed:
			msg = "open failed"
		case ssh.ResourceShortage:
			msg = "too many concurrent sessions"
		default:
			msg = "cannot open additional channels"
		}
	}
	return reason, msg
}

// Exec records one exec request the server ran.
type Exec struct {
	Conn    int               // the connection it ran on, numbered from 1 in accept order
	User    string            // the authenticated user name
	Command string            // the command as received
	Env     map[string]string // the variables accepted by env requests before it
}

// Server is an in-process SSH server. Its methods are safe for concurrent
// use.
type Server struct {
	opts     Options
	config   *ssh.ServerConfig
	ln       net.Listener  // nil for a pipe server
	done     chan struct{} // closed by Close
	wg       sync.WaitGroup
	userKey  []byte // UserSigner's public key, marshaled
	closeErr error

	mu         sync.Mutex // guards the fields that follow
	closed     bool
	conns      map[net.Conn]struct{}
	accepted   int
	channels   int
	refused    int
	keepalives int
	// channelKeepalives counts keepalive@openssh.com channel requests.
	channelKeepalives int
	// larvalRequests counts those that came before the exec or shell.
	larvalRequests int
	execs          []Exec
	running        int // exec'd commands that have not ended
	maxRunning     int // the most running at once
	// barrier is closed when barrierWaiting barrier commands (see
	// [Server.arrive]) have arrived; nil until the first arrives.
	barrier        chan struct{}
	barrierWaiting int
}

// NewServer starts a server listening on 127.0.0.1 on a free port. It is
// closed when the test and its subtests have finished.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	s := newServer(opts, ln)
	t.Cleanup(func() { s.Close() })
	s.wg.Go(s.acceptLoop)
	return s
}

// NewPipeServer starts a server without a listener: [Server.Dial] and
// [Server.DialConn] connect to it over a [Pipe]. Unlike [NewServer], it works
// inside a testing/synctest bubble. It is closed when the test and its
// subtests have finished.
func NewPipeServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s := newServer(opts, nil)
	t.Cleanup(func() { s.Close() })
	return s
}

// Transport is a way of connecting to a [Server], for tests that run over
// each (yamux's conn-type matrix).
type Transport struct {
	Name      string // "tcp" or "pipe", for t.Run
	NewServer func(testing.TB, Options) *Server
}

// Transports returns the transports a behaviour test should run over: TCP
// on 127.0.0.1 and an in-memory [Pipe].
func Transports() []Transport {
	return []Transport{
		{Name: "tcp", NewServer: NewServer},
		{Name: "pipe", NewServer: NewPipeServer},
	}
}

func newServer(opts Options, ln net.Listener) *Server {
	if opts.AcceptEnv == nil {
		opts.AcceptEnv = []string{"GIT_PROTOCOL"}
	}
	s := &Server{
		opts:    opts,
		ln:      ln,
		done:    make(chan struct{}),
		userKey: UserSigner().PublicKey().Marshal(),
		conns:   make(map[net.Conn]struct{}),
	}
	s.config = &ssh.ServerConfig{
		PublicKeyCallback: s.checkKey,
	}
	if opts.Banner != "" {
		s.config.BannerCallback = func(ssh.ConnMetadata) string { return opts.Banner }
	}
	s.config.AddHostKey(HostSigner())
	return s
}

var errUnauthorized = errors.New("sshtest: key not authorized")

func (s *Server) checkKey(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	if d := s.opts.AuthDelay; d > 0 {
		timer := time.NewTimer(d)
		select {
		case <-timer.C:
		case <-s.done:
			timer.Stop()
			return nil, errors.New("sshtest: server closed")
		}
	}
	if !bytes.Equal(key.Marshal(), s.userKey) {
		return nil, errUnauthorized
	}
	return &ssh.Permissions{}, nil
}

// Addr returns the address the server listens on ("127.0.0.1:PORT"), or
// "pipe" for a pipe server.
func (s *Server) Addr() string {
	if s.ln == nil {
		return pipeAddr{}.String()
	}
	return s.ln.Addr().String()
}

// HostKey returns the server's host key, [HostSigner]'s public key.
func (s *Server) HostKey() ssh.PublicKey { return HostSigner().PublicKey() }

// KnownHostsLine returns a known_hosts line for the server's address and host
// key, without a trailing newline.
func (s *Server) KnownHostsLine() string {
	return knownhosts.Line([]string{knownhosts.Normalize(s.Addr())}, s.HostKey())
}

// ClientConfig returns a new client configuration that authenticates as
// user "git" with [UserSigner] and accepts only the server's host key.
func (s *Server) ClientConfig() *ssh.ClientConfig {
	return &ssh.ClientConfig{
		User:            "git",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(UserSigner())},
		HostKeyCallback: ssh.FixedHostKey(s.HostKey()),
	}
}

// DialConn returns a new transport connection to the server (TCP, or a
// [Pipe] for a pipe server), before any SSH handshake; wrap it and pass it
// to [Server.NewClient] or [ssh.NewClientConn]. It is closed when the test
// ends.
func (s *Server) DialConn(t testing.TB) net.Conn {
	t.Helper()
	var c net.Conn
	if s.ln == nil {
		var sc net.Conn
		c, sc = Pipe()
		s.ServeConn(sc)
	} else {
		var err error
		if c, err = net.Dial("tcp", s.Addr()); err != nil {
			t.Fatalf("sshtest: %v", err)
		}
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// NewClient runs the client side of the SSH handshake over c with
// [Server.ClientConfig] and returns the client. It is closed when the test
// ends. Call it from the test's goroutine.
func (s *Server) NewClient(t testing.TB, c net.Conn) *ssh.Client {
	t.Helper()
	conn, chans, reqs, err := ssh.NewClientConn(c, s.Addr(), s.ClientConfig())
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	client := ssh.NewClient(conn, chans, reqs)
	t.Cleanup(func() { client.Close() })
	return client
}

// Dial connects and authenticates to the server. The client is closed when
// the test ends. Call it from the test's goroutine.
func (s *Server) Dial(t testing.TB) *ssh.Client {
	t.Helper()
	return s.NewClient(t, s.DialConn(t))
}

// ServeConn serves the server side of c until c fails or the server is
// closed; it does not block. Use it to serve a connection the test built
// itself, such as one end of a [Pipe] wrapped to inject faults. If the
// server is closed, ServeConn closes c.
func (s *Server) ServeConn(c net.Conn) {
	id, ok := s.track(c)
	if !ok {
		c.Close()
		return
	}
	go func() {
		defer s.wg.Done()
		s.serve(c, id)
	}()
}

// track registers c, and adds one to s.wg for its goroutine, unless the
// server is closed. Adding under s.mu, which Close takes before it waits,
// keeps wg.Add from racing with wg.Wait.
func (s *Server) track(c net.Conn) (id int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, false
	}
	s.conns[c] = struct{}{}
	s.accepted++
	s.wg.Add(1)
	return s.accepted, true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

func (s *Server) acceptLoop() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return // closed
		}
		s.ServeConn(c)
	}
}

// Close closes the listener and every connection, and waits until every
// goroutine the server started has ended. It may be called more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.done)
		if s.ln != nil {
			s.closeErr = s.ln.Close()
		}
		for c := range s.conns {
			c.Close()
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
	return s.closeErr
}

// DropConns closes every open connection abruptly, as a crashed server or a
// broken link would, and keeps accepting new ones.
func (s *Server) DropConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

// Accepted returns how many connections the server has accepted, including
// those that failed the handshake.
func (s *Server) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// Channels returns how many session channels the server has opened (not
// counting refused ones).
func (s *Server) Channels() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.channels
}

// Refused returns how many session channels the server has refused.
func (s *Server) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// Keepalives returns how many keepalive@openssh.com requests the server has
// received, answered or not.
func (s *Server) Keepalives() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keepalives
}

// ChannelKeepalives returns how many keepalive@openssh.com channel requests
// the server has received, answered or not.
func (s *Server) ChannelKeepalives() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.channelKeepalives
}

// LarvalKeepalives returns how many keepalive@openssh.com channel requests
// came on a channel before its exec or shell request.
func (s *Server) LarvalKeepalives() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.larvalRequests
}

// Execs returns the exec requests the server has run, in the order they
// arrived.
func (s *Server) Execs() []Exec {
	s.mu.Lock()
	defer s.mu.Unlock()
	execs := slices.Clone(s.execs)
	for i := range execs {
		execs[i].Env = maps.Clone(execs[i].Env)
	}
	return execs
}

// MaxRunning returns the most commands (exec requests) that were running
// on the server at the same time, over all its connections. A command runs
// from its exec request until it frees its channel slot, which is before
// the client can see its exit status: commands a client ran one after
// another never count as running at once.
func (s *Server) MaxRunning() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxRunning
}

// arrive counts a barrier command that waits for n and returns the channel
// that is closed when n have arrived, counting from the last release.
func (s *Server) arrive(n int) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.barrier == nil {
		s.barrier = make(chan struct{})
	}
	ch := s.barrier
	s.barrierWaiting++
	if s.barrierWaiting >= n {
		close(ch)
		s.barrier, s.barrierWaiting = nil, 0
	}
	return ch
}

// leave uncounts a barrier command that gives up waiting on ch.
func (s *Server) leave(ch <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.barrier != nil && s.barrier == ch {
		s.barrierWaiting--
	}
}

func (s *Server) count(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
}
