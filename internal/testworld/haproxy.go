package testworld

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// HAProxyOptions configure [StartHAProxy].
type HAProxyOptions struct {
	// Backend is the "host:port" every connection is forwarded to, for
	// example an [SSHD]'s Addr. It is required.
	Backend string

	// TimeoutClient and TimeoutServer are HAProxy's "timeout client" and
	// "timeout server": a connection on which nothing was received from
	// the client (or from the server) for that long is closed, in both
	// directions. They are the point of this proxy: the idle timeouts that
	// keepalives must defeat. If zero, 50s is used (HAProxy's example
	// configuration). They are rounded up to whole milliseconds.
	TimeoutClient, TimeoutServer time.Duration

	// TimeoutConnect is HAProxy's "timeout connect" to the backend. If
	// zero, 5s is used.
	TimeoutConnect time.Duration

	// Port is the TCP port on 127.0.0.1 to listen on. If zero, a free
	// port is picked (and picked again if another process takes it before
	// HAProxy binds).
	Port int

	// StartTimeout bounds how long StartHAProxy waits for HAProxy to
	// answer. If zero, 15s is used.
	StartTimeout time.Duration
}

// HAProxy is a running HAProxy in TCP mode started by [StartHAProxy].
type HAProxy struct {
	dir      string
	opts     HAProxyOptions
	port     int
	path     string // absolute path of the haproxy binary
	sockDir  string // short directory holding the stats socket
	sockPath string
	d        daemon
}

// File names inside an HAProxy directory.
const (
	haproxyConfigName = "haproxy.cfg"
	haproxyLogName    = "haproxy.log"
)

// StartHAProxy writes an haproxy.cfg into dir (created if missing) for one
// TCP-mode frontend on 127.0.0.1 that forwards every connection to
// opts.Backend, starts "haproxy -db" in the foreground (so that [HAProxy.Stop]
// ends it) and waits until it serves. HAProxy's stderr and its log (one
// "option tcplog" line per finished connection, whose termination state,
// such as "cD" for a client-side timeout during data, says who closed it)
// go to dir/haproxy.log. On failure it returns an error that ends with the
// tail of that log.
//
// Readiness is checked on HAProxy's stats socket, not by connecting to the
// frontend: a probe through the proxy would reach the backend and count
// as a connection there (see [SSHD.Connections]).
//
// Callers must call [HAProxy.Stop] (for example from t.Cleanup).
func StartHAProxy(dir string, opts HAProxyOptions) (*HAProxy, error) {
	path, err := LookTool("haproxy")
	if err != nil {
		return nil, fmt.Errorf("testworld: haproxy not found: %w", err)
	}
	if opts.Backend == "" {
		return nil, errors.New("testworld: HAProxyOptions.Backend is required")
	}
	if _, _, err := net.SplitHostPort(opts.Backend); err != nil {
		return nil, fmt.Errorf("testworld: HAProxyOptions.Backend: %w", err)
	}
	for _, d := range []time.Duration{opts.TimeoutClient, opts.TimeoutServer, opts.TimeoutConnect, opts.StartTimeout} {
		if d < 0 {
			return nil, fmt.Errorf("testworld: negative HAProxy timeout %v", d)
		}
	}
	if opts.TimeoutClient == 0 {
		opts.TimeoutClient = 50 * time.Second
	}
	if opts.TimeoutServer == 0 {
		opts.TimeoutServer = 50 * time.Second
	}
	if opts.TimeoutConnect == 0 {
		opts.TimeoutConnect = 5 * time.Second
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 15 * time.Second
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// A Unix socket path is limited to about 100 bytes and dir can be
	// long (a testscript $WORK, macOS's TMPDIR).
	sockDir, err := os.MkdirTemp("", "gitssh-haproxy")
	if err != nil {
		return nil, fmt.Errorf("testworld: %w", err)
	}
	h := &HAProxy{dir: dir, opts: opts, path: path, sockDir: sockDir, sockPath: filepath.Join(sockDir, "stats")}
	h.d = daemon{name: "haproxy", log: h.LogPath()}

	const attempts = 3
	for i := 1; ; i++ {
		h.port = opts.Port
		if h.port == 0 {
			if h.port, err = FreePort(); err != nil {
				os.RemoveAll(sockDir)
				return nil, err
			}
		}
		if err := h.writeConfig(); err != nil {
			os.RemoveAll(sockDir)
			return nil, err
		}
		err = h.start()
		if err == nil {
			return h, nil
		}
		if opts.Port != 0 || i == attempts || !errors.Is(err, errAddrInUse) {
			os.RemoveAll(sockDir)
			return nil, err
		}
	}
}

// haproxyDuration formats d for haproxy.cfg, in milliseconds rounded up.
func haproxyDuration(d time.Duration) string {
	ms := (d + time.Millisecond - 1) / time.Millisecond
	return strconv.FormatInt(int64(max(ms, 1)), 10) + "ms"
}

func (h *HAProxy) writeConfig() error {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("# Written by gitssh's internal/testworld; regenerated on every start.")
	line("global")
	line("    log stderr format raw local0 info")
	line("    nbthread 1")
	line("    maxconn 256") // keeps HAProxy's file descriptor needs small
	line("    stats socket %s mode 600 level user", h.sockPath)
	line("")
	line("defaults")
	line("    mode tcp")
	line("    log global")
	line("    option tcplog")
	line("    timeout connect %s", haproxyDuration(h.opts.TimeoutConnect))
	line("    timeout client %s", haproxyDuration(h.opts.TimeoutClient))
	line("    timeout server %s", haproxyDuration(h.opts.TimeoutServer))
	line("")
	line("frontend fe")
	line("    bind 127.0.0.1:%d", h.port)
	line("    default_backend be")
	line("")
	line("backend be")
	line("    server backend %s", h.opts.Backend)
	return os.WriteFile(h.ConfigPath(), []byte(b.String()), 0o644)
}

func (h *HAProxy) start() error {
	os.Remove(h.sockPath) // a stale socket from an earlier attempt
	cmd := exec.Command(h.path, "-db", "-f", h.ConfigPath())
	cmd.Dir = h.dir
	// Ready when HAProxy answers "show info" on its stats socket: it binds
	// every listener before it serves any.
	return h.d.start(cmd, h.opts.StartTimeout, h.probe)
}

func (h *HAProxy) probe(deadline time.Time) error {
	c, err := net.DialTimeout("unix", h.sockPath, time.Until(deadline))
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(deadline)
	if _, err := c.Write([]byte("show info\n")); err != nil {
		return err
	}
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "Pid: ") {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read stats socket: %w", err)
	}
	return errors.New("no Pid in \"show info\"")
}

// Stop kills HAProxy: its listener and every connection through it end at
// once, like a crashed proxy. Stop is idempotent.
func (h *HAProxy) Stop() error {
	err := h.d.stop()
	os.RemoveAll(h.sockDir)
	return err
}

// Pid returns the process id of HAProxy, or 0 when stopped.
func (h *HAProxy) Pid() int { return h.d.pid() }

// Port returns the TCP port HAProxy listens on (on 127.0.0.1).
func (h *HAProxy) Port() int { return h.port }

// Addr returns "127.0.0.1:PORT".
func (h *HAProxy) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(h.port)) }

// ConfigPath returns the path of the haproxy.cfg.
func (h *HAProxy) ConfigPath() string { return filepath.Join(h.dir, haproxyConfigName) }

// LogPath returns the path of HAProxy's stderr and log.
func (h *HAProxy) LogPath() string { return filepath.Join(h.dir, haproxyLogName) }
