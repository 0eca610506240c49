package testworld

import (
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

// DropbearOptions configure [StartDropbear]. The zero value is a usable
// server.
type DropbearOptions struct {
	// IdleTimeout is dropbear's -I: a connection on which nothing but
	// global requests (keepalive@openssh.com among them) and their replies
	// crossed for that long is closed ("Idle timeout"). It is rounded up to
	// whole seconds. If zero, there is none.
	IdleTimeout time.Duration

	// StartTimeout bounds how long StartDropbear waits for the banner. If
	// zero, 15s is used.
	StartTimeout time.Duration
}

// Dropbear is a running dropbear SSH server started by [StartDropbear]: a
// real server implementation other than OpenSSH, from Debian's
// dropbear-bin.
type Dropbear struct {
	dir  string
	opts DropbearOptions
	port int
	home *privateHome
	d    daemon
}

// dropbearKeyTypes are the host keys dropbear gets. It needs an RSA key even
// when it would rather offer another: without one it offers rsa-sha2
// signatures anyway and fails an assertion when a client picks them.
var dropbearKeyTypes = []struct{ typ, bits string }{
	{"ed25519", ""},
	{"ecdsa", "256"},
	{"rsa", "2048"},
}

// StartDropbear writes host keys (dropbearkey), a private home with an
// empty authorized_keys (see [ClientFiles.AddServer]) and starts
// "dropbear -F -E" on 127.0.0.1 on a free port, logging to dir/dropbear.log,
// with public key authentication only for the user running the tests. It
// runs under nss_wrapper (see [NSSWrapper]), so that the user's home, as
// dropbear sees it, is dir/home. Callers must call [Dropbear.Stop].
func StartDropbear(dir string, opts DropbearOptions) (*Dropbear, error) {
	for _, tool := range []string{"dropbear", "dropbearkey"} {
		if _, err := LookTool(tool); err != nil {
			return nil, fmt.Errorf("testworld: %s not found (Debian: dropbear-bin): %w", tool, err)
		}
	}
	if opts.IdleTimeout < 0 {
		return nil, fmt.Errorf("testworld: negative dropbear idle timeout %v", opts.IdleTimeout)
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 15 * time.Second
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	home, err := newPrivateHome(filepath.Join(dir, "home"), dir)
	if err != nil {
		return nil, err
	}
	keygenPath, _ := LookTool("dropbearkey")
	for _, k := range dropbearKeyTypes {
		path := filepath.Join(dir, "dropbear_"+k.typ+"_host_key")
		os.Remove(path)
		args := []string{"-t", k.typ, "-f", path}
		if k.bits != "" {
			args = append(args, "-s", k.bits)
		}
		if out, err := exec.Command(keygenPath, args...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("testworld: dropbearkey -t %s: %w\n%s", k.typ, err, out)
		}
	}
	b := &Dropbear{dir: dir, opts: opts, home: home, d: daemon{name: "dropbear", log: filepath.Join(dir, "dropbear.log")}}
	const attempts = 3
	for i := 1; ; i++ {
		if b.port, err = FreePort(); err != nil {
			return nil, err
		}
		err = b.start()
		if err == nil {
			return b, nil
		}
		if i == attempts || !errors.Is(err, errAddrInUse) {
			return nil, err
		}
	}
}

func (b *Dropbear) start() error {
	path, err := LookTool("dropbear")
	if err != nil {
		return err
	}
	args := []string{"-F", "-E", "-s", "-j", "-k",
		"-p", b.Addr(), "-P", filepath.Join(b.dir, "dropbear.pid")}
	for _, k := range dropbearKeyTypes {
		args = append(args, "-r", filepath.Join(b.dir, "dropbear_"+k.typ+"_host_key"))
	}
	if t := b.opts.IdleTimeout; t > 0 {
		args = append(args, "-I", strconv.FormatInt(int64((t+time.Second-1)/time.Second), 10))
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = b.dir
	cmd.Env = b.home.serverEnv()
	return b.d.start(cmd, b.opts.StartTimeout, func(deadline time.Time) error { return sshBanner(b.Addr(), deadline) })
}

// Stop kills dropbear and every connection it accepted. It is idempotent.
func (b *Dropbear) Stop() error { return b.d.stop() }

// Pid returns the process id of the listening dropbear, or 0 when stopped.
func (b *Dropbear) Pid() int { return b.d.pid() }

// Port returns the TCP port the server listens on (on 127.0.0.1).
func (b *Dropbear) Port() int { return b.port }

// Addr returns "127.0.0.1:PORT".
func (b *Dropbear) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port)) }

// LogPath returns the path of dropbear's log (its stderr).
func (b *Dropbear) LogPath() string { return b.d.log }

// HomeDir returns the home directory dropbear sees for the user, where
// remote commands start.
func (b *Dropbear) HomeDir() string { return b.home.dir }

// AuthorizedKeysPath returns the path of the authorized_keys dropbear
// reads, in its private home.
func (b *Dropbear) AuthorizedKeysPath() string { return b.home.AuthorizedKeysPath() }

// HostKeyLines returns known_hosts lines for the server's host keys, for
// host ("[127.0.0.1]:PORT" if empty).
func (b *Dropbear) HostKeyLines(host string) []string {
	if host == "" {
		host = fmt.Sprintf("[127.0.0.1]:%d", b.port)
	}
	keygenPath, err := LookTool("dropbearkey")
	if err != nil {
		return nil
	}
	var lines []string
	for _, k := range dropbearKeyTypes {
		out, err := exec.Command(keygenPath, "-y", "-f", filepath.Join(b.dir, "dropbear_"+k.typ+"_host_key")).Output()
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(out), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && (strings.HasPrefix(f[0], "ssh-") || strings.HasPrefix(f[0], "ecdsa-")) {
				lines = append(lines, host+" "+f[0]+" "+f[1])
			}
		}
	}
	return lines
}
