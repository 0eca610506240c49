package dial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gitssh/gitssh/config"
	"golang.org/x/crypto/ssh"
)

// Options are what a dial needs besides the Destination. The zero value
// dials silently with no agent and nobody to prompt.
type Options struct {
	// Prompter asks the user for passphrases, passwords and host-key
	// decisions. If nil, nothing is asked.
	Prompter Prompter
	// AuthSock is the value of SSH_AUTH_SOCK, used unless the Destination
	// names an IdentityAgent.
	AuthSock string
	// Debugf receives OpenSSH-style debug lines ("debug1: ..."), without
	// the prefix. If nil, they are dropped.
	Debugf func(format string, args ...any)
	// Warnf receives the warnings OpenSSH prints at its default log level,
	// such as "Warning: Permanently added ...". If nil, they are dropped.
	Warnf func(format string, args ...any)
	// ProxyStderr receives a ProxyCommand's standard error, as given: the
	// requesting client's stderr, so that a failing proxy's message reaches
	// the user. If nil, it is discarded.
	ProxyStderr io.Writer
	// ProxyEnv is the environment a ProxyCommand runs with ("NAME=value"
	// pairs): the requesting client's, as ssh, started by that client,
	// would pass it. If nil, the command inherits this process's
	// environment.
	ProxyEnv []string
	// ProxyDir is the directory a ProxyCommand runs in: the requesting
	// client's, so that a relative program or file in the command means
	// what it means to ssh. If empty, this process's directory is used.
	ProxyDir string
	// WrapConn, if set, wraps the transport under the SSH connection, for
	// example to notice traffic for keepalives.
	WrapConn func(net.Conn) net.Conn

	// auths holds one Dial's authenticators, by Destination key, so that a
	// handshake repeated without a key that stayed locked does not ask again.
	auths *authenticators
}

func (o Options) withDefaults() Options {
	if o.Debugf == nil {
		o.Debugf = func(string, ...any) {}
	}
	if o.Warnf == nil {
		o.Warnf = func(string, ...any) {}
	}
	if o.ProxyStderr == nil {
		o.ProxyStderr = io.Discard
	}
	if o.auths == nil {
		o.auths = &authenticators{m: make(map[string]*authenticator)}
	}
	return o
}

// Dial opens an authenticated SSH connection to d. As in OpenSSH,
// d.ConnectTimeout bounds opening the transport (TCP connect, or a
// forwarded channel through a jump host) and the key exchange up to the
// server's host key, not authentication: a passphrase prompt may take as
// long as the user needs. Each ProxyJump hop is bounded by its own
// ConnectTimeout. Errors are *ConnectError,
// *ResolveError, *HandshakeError, *HostKeyError or *AuthError where the
// failure is one of those.
func Dial(ctx context.Context, d config.Destination, opts Options) (*ssh.Client, error) {
	opts = opts.withDefaults()
	for attempt := 1; ; attempt++ {
		nc, err := transport(ctx, d, opts)
		if err != nil {
			return nil, err
		}
		if opts.WrapConn != nil {
			nc = opts.WrapConn(nc)
		}
		client, err := handshake(ctx, nc, d, opts)
		if !errors.Is(err, errKeyLocked) {
			return client, err
		}
		// x/crypto gives up the whole handshake when a key cannot sign;
		// OpenSSH goes on to the next key. Connect again without it.
		if attempt == maxHandshakes {
			auth := opts.auths.get(d, opts)
			return nil, &AuthError{User: d.User, Host: d.HostName, Methods: auth.triedMethods()}
		}
		opts.Debugf("key stayed locked: connecting again without it")
	}
}

// maxHandshakes bounds the handshakes of one Dial: one more than the keys
// that may stay locked.
const maxHandshakes = 8

// transport opens the byte stream to d's SSH port: through the ProxyJump
// chain, a ProxyCommand, or plain TCP.
func transport(ctx context.Context, d config.Destination, opts Options) (net.Conn, error) {
	port := strconv.Itoa(d.Port)
	switch {
	case len(d.Jumps) > 0:
		return jump(ctx, d, opts)
	case d.ProxyCommand != "":
		opts.Debugf("Executing proxy command: exec %s", d.ProxyCommand)
		return startProxyCommand(d.ProxyCommand, opts.ProxyEnv, opts.ProxyDir, opts.ProxyStderr)
	}
	network := "tcp"
	switch d.AddressFamily {
	case "inet":
		network = "tcp4"
	case "inet6":
		network = "tcp6"
	}
	keepAlive := time.Duration(-1)
	if d.TCPKeepAlive {
		keepAlive = 0 // the operating system's TCP keepalive, as OpenSSH's SO_KEEPALIVE
	}
	dialer := net.Dialer{KeepAlive: keepAlive}
	opts.Debugf("Connecting to %s port %s.", d.HostName, port)
	ctx, cancel := withConnectTimeout(ctx, d)
	defer cancel()
	nc, err := dialer.DialContext(ctx, network, net.JoinHostPort(d.HostName, port))
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) {
			return nil, &ResolveError{Host: d.HostName, Err: err}
		}
		if ctx.Err() != nil && !errors.Is(err, context.Canceled) {
			err = context.DeadlineExceeded
		}
		return nil, &ConnectError{Host: d.HostName, Port: port, Err: err}
	}
	opts.Debugf("Connection established.")
	return nc, nil
}

// jump reaches d through its ProxyJump hosts, as "ssh -J a,b d" does: the
// first hop is dialled with its own configuration, each later hop and d
// itself through a forwarded channel of the hop before.
func jump(ctx context.Context, d config.Destination, opts Options) (net.Conn, error) {
	first := d.Jumps[0]
	client, err := Dial(ctx, first, opts)
	if err != nil {
		return nil, fmt.Errorf("jump host %s: %w", first.Alias, err)
	}
	clients := []*ssh.Client{client}
	fail := func(err error) (net.Conn, error) {
		for i := len(clients) - 1; i >= 0; i-- {
			clients[i].Close()
		}
		return nil, err
	}
	for _, hop := range d.Jumps[1:] {
		nc, err := forward(ctx, client, hop, opts)
		if err != nil {
			return fail(err)
		}
		if client, err = handshake(ctx, nc, hop, opts); err != nil {
			return fail(fmt.Errorf("jump host %s: %w", hop.Alias, err))
		}
		clients = append(clients, client)
	}
	nc, err := forward(ctx, client, d, opts)
	if err != nil {
		return fail(err)
	}
	return &chainConn{Conn: nc, clients: clients}, nil
}

// forward opens a direct-tcpip channel from client to d's SSH port, within
// d's ConnectTimeout: this is d's "TCP connect".
func forward(ctx context.Context, client *ssh.Client, d config.Destination, opts Options) (net.Conn, error) {
	port := strconv.Itoa(d.Port)
	opts.Debugf("Forwarding to %s port %s through %s", d.HostName, port, client.RemoteAddr())
	fctx, cancel := withConnectTimeout(ctx, d)
	defer cancel()
	nc, err := client.DialContext(fctx, "tcp", net.JoinHostPort(d.HostName, port))
	if err != nil {
		if fctx.Err() != nil && ctx.Err() == nil {
			err = context.DeadlineExceeded
		}
		return nil, &ConnectError{Host: d.HostName, Port: port, Err: err}
	}
	return nc, nil
}

// withConnectTimeout bounds ctx by d.ConnectTimeout, if set.
func withConnectTimeout(ctx context.Context, d config.Destination) (context.Context, context.CancelFunc) {
	if d.ConnectTimeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d.ConnectTimeout)
}

// chainConn is the stream to the final host of a ProxyJump chain; closing it
// closes every hop's connection.
type chainConn struct {
	net.Conn
	clients []*ssh.Client
}

func (c *chainConn) Close() error {
	err := c.Conn.Close()
	for i := len(c.clients) - 1; i >= 0; i-- {
		c.clients[i].Close()
	}
	return err
}

// handshake runs the SSH handshake over nc and authenticates.
func handshake(ctx context.Context, nc net.Conn, d config.Destination, opts Options) (*ssh.Client, error) {
	port := strconv.Itoa(d.Port)
	checker, err := newHostKeyChecker(d, opts.Prompter, opts.Warnf, opts.Debugf)
	if err != nil {
		nc.Close()
		return nil, err
	}
	auth := opts.auths.get(d, opts)
	defer auth.close()
	cfg := &ssh.ClientConfig{
		User:              d.User,
		Auth:              auth.methods(),
		HostKeyCallback:   checker.check,
		HostKeyAlgorithms: checker.algorithms(),
		BannerCallback: func(msg string) error {
			if d.LogLevel != "QUIET" && d.LogLevel != "FATAL" && d.LogLevel != "ERROR" {
				opts.Warnf("%s", strings.TrimRight(visBanner(msg), "\n"))
			}
			return nil
		},
		ClientVersion: "SSH-2.0-gitssh",
	}

	// The handshake has no context of its own: close the connection when ctx
	// ends first, which makes NewClientConn return.
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	// ConnectTimeout bounds the key exchange until the server's host key
	// arrives; what follows (a host-key question, authentication and its
	// prompts) takes as long as it takes, as in OpenSSH.
	var kexTimedOut atomic.Bool
	if d.ConnectTimeout > 0 {
		kexTimer := time.AfterFunc(d.ConnectTimeout, func() {
			kexTimedOut.Store(true)
			nc.Close()
		})
		defer kexTimer.Stop()
		checker.onKey = func() { kexTimer.Stop() }
	}
	conn, chans, reqs, err := ssh.NewClientConn(nc, net.JoinHostPort(d.HostName, port), cfg)
	if err != nil {
		nc.Close()
		var hkErr *HostKeyError
		switch {
		case errors.Is(err, errKeyLocked):
			return nil, err // Dial connects again without the key
		case kexTimedOut.Load() && ctx.Err() == nil:
			return nil, &ConnectError{Host: d.HostName, Port: port, Err: context.DeadlineExceeded}
		case errors.As(err, &hkErr):
			return nil, hkErr
		case ctx.Err() != nil:
			return nil, &ConnectError{Host: d.HostName, Port: port, Err: ctx.Err()}
		case isAuthFailure(err):
			return nil, &AuthError{User: d.User, Host: d.HostName, Methods: auth.triedMethods()}
		}
		return nil, &HandshakeError{Host: d.HostName, Port: port, BeforeKex: !checker.seen, Err: err}
	}
	opts.Debugf("Authenticated to %s ([%s]:%s).", d.HostName, d.HostName, port)
	return ssh.NewClient(conn, chans, reqs), nil
}

// isAuthFailure reports whether x/crypto gave up authenticating. The library
// has no error type for it, so its one fixed message is matched.
func isAuthFailure(err error) bool {
	return strings.Contains(err.Error(), "ssh: unable to authenticate")
}
