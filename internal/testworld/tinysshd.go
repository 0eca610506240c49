//go:build unix

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
	"sync"
	"syscall"
)

// TinySSHD is tinysshd (Debian's tinysshd) served on 127.0.0.1 by a small
// in-process inetd: every accepted connection runs "tinysshd -v KEYDIR"
// with the connection as its stdin and stdout, as tcpserver or systemd
// socket activation would. tinysshd serves one session per connection: it
// refuses a second channel ("only one 'session' channel allowed", reason
// administratively prohibited) and ends the connection when the session
// ends. Start it with [StartTinySSHD].
type TinySSHD struct {
	dir     string
	keys    string
	home    *privateHome
	homeTmp string // a directory made outside dir for the home, removed by Stop
	log     string
	ln      net.Listener
	path    string
	wg      sync.WaitGroup // the accept loop and one waiter per child

	mu       sync.Mutex // guards the fields that follow
	children map[*exec.Cmd]struct{}
	accepted int
	stopped  bool
}

// StartTinySSHD writes a host key (tinysshd-makekey), a private home with an
// empty authorized_keys (see [ClientFiles.AddServer]) and starts serving on
// a free port. tinysshd runs under nss_wrapper (see [NSSWrapper]).
//
// tinysshd refuses an authorized_keys with a group- or world-writable
// directory anywhere above it, /tmp's sticky bit included; when dir lies
// under one, the home is made in /run (root) or the user's cache directory
// instead, and removed by [TinySSHD.Stop]. Callers must call Stop.
func StartTinySSHD(dir string) (*TinySSHD, error) {
	path, err := LookTool("tinysshd")
	if err != nil {
		return nil, fmt.Errorf("testworld: tinysshd not found (Debian: tinysshd): %w", err)
	}
	makekey, err := LookTool("tinysshd-makekey")
	if err != nil {
		return nil, fmt.Errorf("testworld: tinysshd-makekey not found: %w", err)
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s := &TinySSHD{dir: dir, keys: filepath.Join(dir, "keys"), log: filepath.Join(dir, "tinysshd.log"), path: path, children: map[*exec.Cmd]struct{}{}}
	os.RemoveAll(s.keys)
	if out, err := exec.Command(makekey, "-q", s.keys).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("testworld: tinysshd-makekey: %w\n%s", err, out)
	}
	homeDir := filepath.Join(dir, "home")
	if !strictPath(dir) {
		base, err := strictBase()
		if err != nil {
			return nil, err
		}
		if s.homeTmp, err = os.MkdirTemp(base, "gitssh-tinysshd-"); err != nil {
			return nil, fmt.Errorf("testworld: %w", err)
		}
		os.Chmod(s.homeTmp, 0o755)
		homeDir = filepath.Join(s.homeTmp, "home")
	}
	if s.home, err = newPrivateHome(homeDir, dir); err != nil {
		s.removeHome()
		return nil, err
	}
	if s.ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		s.removeHome()
		return nil, fmt.Errorf("testworld: tinysshd: %w", err)
	}
	s.wg.Go(s.acceptLoop)
	return s, nil
}

// strictPath reports whether no directory from dir up to / is writable by
// group or others, or owned by someone other than the user or root.
func strictPath(dir string) bool {
	uid := uint32(os.Getuid())
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o022 != 0 {
			return false
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != uid && st.Uid != 0 {
			return false
		}
		if d == filepath.Dir(d) {
			return true
		}
	}
}

// strictBase returns a writable directory with a strict path above it.
func strictBase() (string, error) {
	candidates := []string{"/run"}
	if cache, err := os.UserCacheDir(); err == nil {
		candidates = append(candidates, cache)
	}
	for _, c := range candidates {
		if strictPath(c) && syscall.Access(c, 2 /* W_OK */) == nil {
			return c, nil
		}
	}
	return "", fmt.Errorf("testworld: no directory for tinysshd's home without a group- or world-writable parent (tried %s)", strings.Join(candidates, ", "))
}

func (s *TinySSHD) removeHome() {
	if s.homeTmp != "" {
		os.RemoveAll(s.homeTmp)
	}
}

func (s *TinySSHD) acceptLoop() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return // closed
		}
		s.serve(c.(*net.TCPConn))
	}
}

// serve runs one tinysshd on c, as inetd does.
func (s *TinySSHD) serve(c *net.TCPConn) {
	defer c.Close()
	f, err := c.File()
	if err != nil {
		return
	}
	defer f.Close() // the child has its own copy
	logf, err := os.OpenFile(s.log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer logf.Close()
	cmd := exec.Command(s.path, "-v", s.keys)
	cmd.Dir = s.dir
	cmd.Env = s.home.serverEnv()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = f, f, logf
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(logf, "testworld: start tinysshd: %v\n", err)
		return
	}
	s.accepted++
	s.children[cmd] = struct{}{}
	s.wg.Go(func() {
		cmd.Wait()
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.children, cmd)
	})
}

// Stop closes the listener, kills every tinysshd with what it runs, and
// removes a home made outside the server's directory. It is idempotent.
func (s *TinySSHD) Stop() error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil
	}
	s.stopped = true
	err := s.ln.Close()
	for cmd := range s.children {
		killTree(cmd.Process.Pid)
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.removeHome()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// Accepted returns how many connections the server has accepted.
func (s *TinySSHD) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// Port returns the TCP port the server listens on (on 127.0.0.1).
func (s *TinySSHD) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Addr returns "127.0.0.1:PORT".
func (s *TinySSHD) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port())) }

// LogPath returns the path of the log every tinysshd appends to.
func (s *TinySSHD) LogPath() string { return s.log }

// AuthorizedKeysPath returns the path of the authorized_keys tinysshd reads.
func (s *TinySSHD) AuthorizedKeysPath() string { return s.home.AuthorizedKeysPath() }

// HostKeyLines returns the known_hosts line for the server's ed25519 host
// key (the only type tinysshd has), for host ("[127.0.0.1]:PORT" if empty).
func (s *TinySSHD) HostKeyLines(host string) []string {
	if host == "" {
		host = fmt.Sprintf("[127.0.0.1]:%d", s.Port())
	}
	printkey, err := LookTool("tinysshd-printkey")
	if err != nil {
		return nil
	}
	out, err := exec.Command(printkey, s.keys).Output()
	if err != nil {
		return nil
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && strings.HasPrefix(f[0], "ssh-") {
			lines = append(lines, host+" "+f[0]+" "+f[1])
		}
	}
	return lines
}
