package testworld

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SSHDOptions configure [StartSSHD]. The zero value is a usable server.
type SSHDOptions struct {
	// Port is the TCP port on 127.0.0.1. If zero, a free port is picked
	// (and picked again if another process takes it before sshd binds).
	Port int

	// MaxSessions is sshd's MaxSessions (sessions per connection).
	// If zero, the line is omitted and sshd's default (10) applies.
	MaxSessions int

	// MaxStartups is sshd's MaxStartups, for example "10:30:100".
	// If empty, the line is omitted and sshd's default applies.
	MaxStartups string

	// HostCA is a CA private key: if set, every host key is signed with it
	// (a host certificate for 127.0.0.1) and sshd offers the certificates.
	HostCA string

	// Extra holds further sshd_config lines, appended in order. sshd uses
	// the first value it reads for most keywords, so an Extra line cannot
	// override one written above it; use the fields for those.
	Extra []string

	// StartTimeout bounds how long StartSSHD waits for sshd to answer with
	// its banner. If zero, 15s is used.
	StartTimeout time.Duration

	// Detach starts sshd in its own session so that it outlives the
	// process that started it (scripts/world). Stop it with [StopDir].
	Detach bool
}

// SSHD is a running OpenSSH server started by [StartSSHD].
type SSHD struct {
	dir  string
	opts SSHDOptions
	port int
	path string // absolute path of the sshd binary
	d    daemon

	mu     sync.Mutex   // guards the fields that follow
	probes map[int]bool // local ports of our own readiness probes
}

// File names inside an sshd directory.
const (
	sshdConfigName     = "sshd_config"
	sshdLogName        = "sshd.log"
	sshdOutName        = "sshd.out"
	sshdPidName        = "sshd.pid"
	authorizedKeysName = "authorized_keys"
)

// hostKeyTypes are the host keys every server gets, in the order sshd
// offers them.
var hostKeyTypes = []struct{ typ, bits string }{
	{"ed25519", ""},
	{"ecdsa", "256"},
	{"rsa", "2048"}, // 2048 rather than the default 3072: faster, still accepted
}

// StartSSHD writes fresh host keys, an empty authorized_keys (see
// [ClientFiles.AddServer]) and an sshd_config into dir (created if
// missing), starts /usr/sbin/sshd in the foreground and waits until it
// answers with its SSH banner on 127.0.0.1. On failure it returns an error
// that ends with the tail of sshd's log.
//
// The server admits only the user running the test, by public key only.
// Callers must call [SSHD.Stop] (for example from t.Cleanup).
func StartSSHD(dir string, opts SSHDOptions) (*SSHD, error) {
	path, err := LookTool("sshd")
	if err != nil {
		return nil, fmt.Errorf("testworld: sshd not found: %w", err)
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 15 * time.Second
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		// sshd running as root insists on its privilege separation
		// directory; a bare container often lacks it.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			return nil, fmt.Errorf("testworld: %w", err)
		}
	}
	for _, k := range hostKeyTypes {
		keyPath := filepath.Join(dir, "ssh_host_"+k.typ+"_key")
		if err := keygen(keyPath, k.typ, k.bits, ""); err != nil {
			return nil, err
		}
	}
	if opts.HostCA != "" {
		if err := signHostKeys(dir, opts.HostCA); err != nil {
			return nil, err
		}
	}
	ak := filepath.Join(dir, authorizedKeysName)
	if err := os.WriteFile(ak, nil, 0o600); err != nil {
		return nil, err
	}
	s := &SSHD{dir: dir, opts: opts, path: path, probes: map[int]bool{}}
	s.d = daemon{
		log:     s.LogPath(),
		out:     filepath.Join(dir, sshdOutName),
		stopped: func() { os.Remove(filepath.Join(dir, sshdPidName)) },
	}
	if err := os.MkdirAll(s.HomeDir(), 0o755); err != nil {
		return nil, err
	}

	const attempts = 3
	for i := 1; ; i++ {
		s.port = opts.Port
		if s.port == 0 {
			if s.port, err = FreePort(); err != nil {
				return nil, err
			}
		}
		if err := s.writeConfig(); err != nil {
			return nil, err
		}
		s.d.name = "sshd on " + s.Addr() // s is not shared yet
		err = s.Start()
		if err == nil {
			return s, nil
		}
		if opts.Port != 0 || i == attempts || !errors.Is(err, errAddrInUse) {
			return nil, err
		}
	}
}

var errAddrInUse = errors.New("address already in use")

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago (the
// kernel picked it for a listener that is closed again). Nothing listens on
// it, so it also serves as a "connection refused" port.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("testworld: pick a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (s *SSHD) writeConfig() error {
	u, err := user.Current()
	if err != nil {
		return fmt.Errorf("testworld: %w", err)
	}
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("# Written by gitssh's internal/testworld; regenerated on every start.")
	line("ListenAddress 127.0.0.1")
	line("Port %d", s.port)
	for _, k := range hostKeyTypes {
		line("HostKey %s", filepath.Join(s.dir, "ssh_host_"+k.typ+"_key"))
	}
	if s.opts.HostCA != "" {
		for _, k := range hostKeyTypes {
			line("HostCertificate %s", hostCertPath(filepath.Join(s.dir, "ssh_host_"+k.typ+"_key")))
		}
	}
	line("PidFile %s", filepath.Join(s.dir, sshdPidName))
	line("AuthorizedKeysFile %s", filepath.Join(s.dir, authorizedKeysName))
	line("AllowUsers %s", u.Username)
	line("PubkeyAuthentication yes")
	line("PasswordAuthentication no")
	line("KbdInteractiveAuthentication no")
	line("UsePAM no")
	line("StrictModes no")
	line("PermitRootLogin prohibit-password")
	line("AcceptEnv GIT_PROTOCOL")
	line("LogLevel VERBOSE")
	line("PrintMotd no")
	line("PrintLastLog no")
	line("UseDNS no")
	line("X11Forwarding no")
	line("AllowTcpForwarding yes") // ProxyJump through this server
	// Remote commands run with HOME in the server directory: sshd starts
	// them through the user's shell, and bash run by sshd sources
	// ~/.bashrc, whose contents on a developer's machine (pyenv, nvm, a
	// motd) would slow down or pollute every session. git on the server
	// side then also reads no ~/.gitconfig of the machine.
	line("SetEnv HOME=%s", s.HomeDir())
	if s.opts.MaxSessions != 0 {
		line("MaxSessions %d", s.opts.MaxSessions)
	}
	if s.opts.MaxStartups != "" {
		line("MaxStartups %s", s.opts.MaxStartups)
	}
	for _, l := range s.opts.Extra {
		line("%s", l)
	}
	return os.WriteFile(s.ConfigPath(), []byte(b.String()), 0o644)
}

// Start starts a stopped server again with the same port, host keys,
// configuration and authorized_keys. [StartSSHD] calls it; tests call it
// after [SSHD.Stop].
func (s *SSHD) Start() error {
	cmd := exec.Command(s.path, "-D", "-e", "-f", s.ConfigPath(), "-E", s.LogPath())
	cmd.Dir = s.dir
	if s.opts.Detach {
		cmd.SysProcAttr = newSessionAttr()
	}
	// Ready when sshd sends its "SSH-2.0" banner.
	return s.d.start(cmd, s.opts.StartTimeout, s.probe)
}

// probe is sshBanner that remembers its local port, so that
// [SSHD.Connections] does not count it.
func (s *SSHD) probe(deadline time.Time) error {
	c, err := net.DialTimeout("tcp", s.Addr(), time.Until(deadline))
	if err != nil {
		return err
	}
	defer c.Close()
	s.mu.Lock()
	s.probes[c.LocalAddr().(*net.TCPAddr).Port] = true
	s.mu.Unlock()
	return readBanner(c, deadline)
}

// Stop kills the server and every process it started: the listener and all
// the connections it accepted, with their remote commands, like a crashed
// or rebooted server. Clients see their connections drop. Stop is
// idempotent.
func (s *SSHD) Stop() error { return s.d.stop() }

// Restart stops the server as [SSHD.Stop] does and starts it again on the
// same port with the same host keys.
func (s *SSHD) Restart() error {
	if err := s.Stop(); err != nil {
		return err
	}
	return s.Start()
}

// Pid returns the process id of the listening sshd, or 0 when stopped.
func (s *SSHD) Pid() int { return s.d.pid() }

// Port returns the TCP port the server listens on (on 127.0.0.1).
func (s *SSHD) Port() int { return s.port }

// Addr returns "127.0.0.1:PORT".
func (s *SSHD) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Dir returns the server's directory.
func (s *SSHD) Dir() string { return s.dir }

// HomeDir returns the directory remote commands get as $HOME (sshd_config
// SetEnv): dir/home, empty unless a test puts files there.
func (s *SSHD) HomeDir() string { return filepath.Join(s.dir, "home") }

// ConfigPath returns the path of the server's sshd_config.
func (s *SSHD) ConfigPath() string { return filepath.Join(s.dir, sshdConfigName) }

// LogPath returns the path of the server's log (sshd -E, LogLevel VERBOSE).
// It survives restarts: a restarted server appends to it.
func (s *SSHD) LogPath() string { return filepath.Join(s.dir, sshdLogName) }

// AuthorizedKeysPath returns the path of the server's authorized_keys.
// sshd reads it on every authentication, so keys may be added while the
// server runs.
func (s *SSHD) AuthorizedKeysPath() string { return filepath.Join(s.dir, authorizedKeysName) }

// Connections returns how many TCP connections the server has accepted
// since it was first started (restarts included), not counting the
// readiness probes of [StartSSHD] and [SSHD.Start]. It counts sshd's
// "Connection from 127.0.0.1 port N" lines.
func (s *SSHD) Connections() (int, error) {
	data, err := os.ReadFile(s.LogPath())
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, l := range strings.Split(string(data), "\n") {
		rest, ok := strings.CutPrefix(l, "Connection from 127.0.0.1 port ")
		if !ok {
			continue
		}
		port, _, _ := strings.Cut(rest, " ")
		if p, err := strconv.Atoi(port); err == nil && s.probes[p] {
			continue
		}
		n++
	}
	return n, nil
}

// AcceptedConnections returns how many connections have authenticated
// since the server was first started (restarts included): sshd's
// "Accepted publickey for" lines. Each authenticated connection logs one.
func (s *SSHD) AcceptedConnections() (int, error) {
	data, err := os.ReadFile(s.LogPath())
	if err != nil {
		return 0, err
	}
	return bytes.Count(data, []byte("Accepted publickey for ")), nil
}

// HostKeyLines returns known_hosts lines for the server's host keys. host
// is the host pattern to write; if empty, "[127.0.0.1]:PORT" is used,
// which is what ssh looks up for HostName 127.0.0.1 and this port.
func (s *SSHD) HostKeyLines(host string) []string {
	if host == "" {
		host = fmt.Sprintf("[127.0.0.1]:%d", s.port)
	}
	var lines []string
	for _, k := range hostKeyTypes {
		pub, err := os.ReadFile(filepath.Join(s.dir, "ssh_host_"+k.typ+"_key.pub"))
		if err != nil {
			continue // StartSSHD wrote them all; nothing sensible to report
		}
		f := strings.Fields(string(pub))
		if len(f) < 2 {
			continue
		}
		lines = append(lines, host+" "+f[0]+" "+f[1])
	}
	return lines
}

// StopDir stops the server whose directory is dir, using the pid file sshd
// wrote there: for servers started with [SSHDOptions.Detach] by another
// process. It kills the same process tree as [SSHD.Stop]. A missing pid
// file means the server is not running and is not an error.
func StopDir(dir string) error {
	pidPath := filepath.Join(dir, sshdPidName)
	data, err := os.ReadFile(pidPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		return fmt.Errorf("testworld: bad pid file %s", pidPath)
	}
	if !Running(pid) {
		os.Remove(pidPath)
		return nil
	}
	killTree(pid)
	for deadline := time.Now().Add(10 * time.Second); Running(pid); {
		if time.Now().After(deadline) {
			return fmt.Errorf("testworld: sshd (pid %d) did not exit", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	os.Remove(pidPath)
	return nil
}

// RunningPid returns the pid recorded in dir's sshd pid file if that
// process is alive, and 0 otherwise.
func RunningPid(dir string) int {
	data, err := os.ReadFile(filepath.Join(dir, sshdPidName))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 || !Running(pid) {
		return 0
	}
	return pid
}

// keygen runs ssh-keygen to write a new key (and its .pub) at path,
// replacing any existing one.
func keygen(path, typ, bits, passphrase string) error {
	keygenPath, err := LookTool("ssh-keygen")
	if err != nil {
		return fmt.Errorf("testworld: ssh-keygen not found: %w", err)
	}
	os.Remove(path)
	os.Remove(path + ".pub")
	args := []string{"-q", "-t", typ, "-N", passphrase, "-C", "gitssh-testworld", "-f", path}
	if bits != "" {
		args = append(args, "-b", bits)
	}
	out, err := exec.Command(keygenPath, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("testworld: ssh-keygen -t %s: %w\n%s", typ, err, out)
	}
	return nil
}
