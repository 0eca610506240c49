package dial_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gitssh/gitssh/config"
	"github.com/gitssh/gitssh/dial"
	"github.com/gitssh/gitssh/internal/sshtest"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// testTimeout bounds anything that could hang; it is never an assertion.
const testTimeout = 30 * time.Second

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// world is a server and a directory for the files a Destination names.
type world struct {
	srv        *sshtest.Server
	dir        string
	knownHosts string // created by the test or by Dial
	port       int
}

func newWorld(t *testing.T, opts sshtest.Options) *world {
	t.Helper()
	srv := sshtest.NewServer(t, opts)
	_, port, err := net.SplitHostPort(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	return &world{srv: srv, dir: dir, knownHosts: filepath.Join(dir, "known_hosts"), port: p}
}

// writeFile writes a file in the world's directory, mode 0600, and returns
// its path.
func (w *world) writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(w.dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// hostName is how known_hosts names the server: "[127.0.0.1]:PORT".
func (w *world) hostName() string { return "[127.0.0.1]:" + strconv.Itoa(w.port) }

// dest returns a Destination for the server that offers the identity files
// given and nothing else, and checks host keys strictly against the
// world's known_hosts.
func (w *world) dest(identities ...string) config.Destination {
	return config.Destination{
		Alias:                 "sshtest",
		HostName:              "127.0.0.1",
		Port:                  w.port,
		User:                  "git",
		IdentityFiles:         identities,
		IdentitiesOnly:        true,
		PubkeyAuthentication:  true,
		UserKnownHostsFiles:   []string{w.knownHosts},
		StrictHostKeyChecking: "yes",
		AddressFamily:         "any",
		// OpenSSH's default, which config.Resolve fills in.
		NumberOfPasswordPrompts: 3,
	}
}

// trust writes the server's known_hosts line.
func (w *world) trust(t *testing.T) {
	t.Helper()
	w.writeFile(t, "known_hosts", []byte(w.srv.KnownHostsLine()+"\n"))
}

// userKey writes the key the server accepts and returns its path.
func (w *world) userKey(t *testing.T) string {
	t.Helper()
	return w.writeFile(t, "id_ed25519", sshtest.UserKeyPEM())
}

// userPrivateKey returns the key the server accepts.
func userPrivateKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	k, err := ssh.ParseRawPrivateKey(sshtest.UserKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	return *k.(*ed25519.PrivateKey)
}

// dialOK dials d, expecting success, and checks that a command runs on the
// connection.
func dialOK(t *testing.T, d config.Destination, opts dial.Options) {
	t.Helper()
	client, err := dial.Dial(testContext(t), d, opts)
	if err != nil {
		t.Fatalf("Dial = %v, want success", err)
	}
	t.Cleanup(func() { client.Close() })
	s, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if out, err := s.Output("echo ok"); err != nil || string(out) != "ok\n" {
		t.Errorf("echo ok over the dialled connection = %q, %v; want %q, nil", out, err, "ok\n")
	}
}

// dialErr dials d, expecting failure, and returns the error.
func dialErr(t *testing.T, d config.Destination, opts dial.Options) error {
	t.Helper()
	client, err := dial.Dial(testContext(t), d, opts)
	if err == nil {
		client.Close()
		t.Fatal("Dial succeeded, want an error")
	}
	return err
}

// prompter answers from a script and records what it was asked.
type prompter struct {
	secret  string
	confirm string
	err     error

	mu       sync.Mutex
	secrets  []string
	confirms []string
}

func (p *prompter) Secret(q string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.secrets = append(p.secrets, q)
	return p.secret, p.err
}

func (p *prompter) Confirm(q string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.confirms = append(p.confirms, q)
	return p.confirm, p.err
}

// warnings collects Warnf lines.
type warnings struct {
	mu    sync.Mutex
	lines []string
}

func (w *warnings) warnf(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines = append(w.lines, fmt.Sprintf(format, args...))
}

func (w *warnings) get() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.lines...)
}

func TestDialHostKey(t *testing.T) {
	other := sshtest.OtherUserSigner().PublicKey()
	const header = "# hosts\n"
	tests := []struct {
		name   string
		known  func(w *world) string // known_hosts before; nil: no file
		strict string
		// answer is the Prompter's answer to a host-key question; "-"
		// means there is no Prompter.
		answer string
		// wantErr is the error, apart from the fields every HostKeyError
		// of this server has; nil means success.
		wantErr *dial.HostKeyError
		// wantRecorded: the server's line was appended to known_hosts.
		wantRecorded bool
		wantAsked    int
	}{
		{
			name:   "known host",
			known:  func(w *world) string { return w.srv.KnownHostsLine() + "\n" },
			strict: "yes",
			answer: "-",
		},
		{
			name:    "unknown host refused",
			strict:  "yes",
			answer:  "no",
			wantErr: &dial.HostKeyError{Problem: dial.HostKeyUnknown},
		},
		{
			name:         "unknown host accepted and recorded",
			strict:       "accept-new",
			answer:       "-",
			wantRecorded: true,
		},
		{
			name:         "recorded after a file without a final newline",
			known:        func(*world) string { return "# no newline" },
			strict:       "accept-new",
			answer:       "-",
			wantRecorded: true,
		},
		{
			name: "changed key",
			known: func(w *world) string {
				return header + knownhosts.Line([]string{w.hostName()}, other) + "\n"
			},
			strict:  "accept-new",
			answer:  "yes",
			wantErr: &dial.HostKeyError{Problem: dial.HostKeyChanged, KnownLine: 2},
		},
		{
			name: "revoked key",
			known: func(w *world) string {
				return header + "@revoked * " + string(ssh.MarshalAuthorizedKey(w.srv.HostKey()))
			},
			strict:  "no",
			answer:  "yes",
			wantErr: &dial.HostKeyError{Problem: dial.HostKeyRevoked, KnownLine: 2},
		},
		{
			name:      "ask, answered no",
			strict:    "ask",
			answer:    "no",
			wantErr:   &dial.HostKeyError{Problem: dial.HostKeyDeclined},
			wantAsked: 1,
		},
		{
			name:         "ask, answered yes",
			strict:       "ask",
			answer:       "yes",
			wantRecorded: true,
			wantAsked:    1,
		},
		{
			name:    "ask with nobody to ask",
			strict:  "ask",
			answer:  "-",
			wantErr: &dial.HostKeyError{Problem: dial.HostKeyUnknown},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, sshtest.Options{})
			before := ""
			if tt.known != nil {
				before = tt.known(w)
				w.writeFile(t, "known_hosts", []byte(before))
			}
			d := w.dest(w.userKey(t))
			d.StrictHostKeyChecking = tt.strict
			var warn warnings
			opts := dial.Options{Warnf: warn.warnf}
			var p *prompter
			if tt.answer != "-" {
				p = &prompter{confirm: tt.answer}
				opts.Prompter = p
			}

			if tt.wantErr == nil {
				dialOK(t, d, opts)
			} else {
				err := dialErr(t, d, opts)
				got, ok := errors.AsType[*dial.HostKeyError](err)
				if !ok {
					t.Fatalf("Dial = %v, want a *dial.HostKeyError", err)
				}
				want := *tt.wantErr
				want.Host = w.hostName()
				want.KeyType = "ED25519"
				want.Fingerprint = ssh.FingerprintSHA256(w.srv.HostKey())
				want.AddFile = w.knownHosts
				if want.KnownLine != 0 {
					want.KnownFile = w.knownHosts
				}
				if diff := cmp.Diff(&want, got); diff != "" {
					t.Errorf("HostKeyError mismatch (-want +got):\n%s", diff)
				}
			}

			after, _ := os.ReadFile(w.knownHosts)
			wantAfter := before
			if tt.wantRecorded {
				if wantAfter != "" && !strings.HasSuffix(wantAfter, "\n") {
					wantAfter += "\n"
				}
				wantAfter += w.srv.KnownHostsLine() + "\n"
			}
			if diff := cmp.Diff(wantAfter, string(after)); diff != "" {
				t.Errorf("known_hosts afterwards mismatch (-want +got):\n%s", diff)
			}
			if tt.wantRecorded {
				wantWarn := fmt.Sprintf("Warning: Permanently added '%s' (ED25519) to the list of known hosts.", w.hostName())
				if diff := cmp.Diff([]string{wantWarn}, warn.get()); diff != "" {
					t.Errorf("warnings mismatch (-want +got):\n%s", diff)
				}
				// The recorded key is trusted from now on.
				d.StrictHostKeyChecking = "yes"
				dialOK(t, d, dial.Options{})
			}
			asked := 0
			if p != nil {
				asked = len(p.confirms)
			}
			if asked != tt.wantAsked {
				t.Errorf("asked %d host-key questions, want %d", asked, tt.wantAsked)
			}
		})
	}
}

func TestDialHostKeyAskFingerprint(t *testing.T) {
	w := newWorld(t, sshtest.Options{})
	d := w.dest(w.userKey(t))
	d.StrictHostKeyChecking = "ask"
	p := &prompter{confirm: ssh.FingerprintSHA256(w.srv.HostKey())}
	dialOK(t, d, dial.Options{Prompter: p})
	if len(p.confirms) != 1 || !strings.Contains(p.confirms[0], w.hostName()) || !strings.Contains(p.confirms[0], p.confirm) {
		t.Errorf("questions = %q; want one naming %s and the fingerprint %s", p.confirms, w.hostName(), p.confirm)
	}
}

// passphrase protects lockedUserKeyPEM.
const passphrase = "correct horse"

// lockedUserKey is the server's user key encrypted with passphrase. Making
// it runs the key's KDF, which is slow: it is made once.
var lockedUserKey = sync.OnceValues(func() ([]byte, error) {
	k, err := ssh.ParseRawPrivateKey(sshtest.UserKeyPEM())
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKeyWithPassphrase(*k.(*ed25519.PrivateKey), "locked", []byte(passphrase))
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(block), nil
})

func lockedUserKeyPEM(t *testing.T) []byte {
	t.Helper()
	b, err := lockedUserKey()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDialAuth(t *testing.T) {
	otherPEM := func(t *testing.T) []byte {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		block, err := ssh.MarshalPrivateKey(priv, "other")
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(block)
	}
	lockedPEM := func(t *testing.T) []byte { return lockedUserKeyPEM(t) }
	denied := &dial.AuthError{User: "git", Host: "127.0.0.1", Methods: []string{"publickey"}}
	tests := []struct {
		name       string
		key        func(t *testing.T) []byte // the identity file; nil: none
		prompter   *prompter
		wantErr    *dial.AuthError // nil: success
		wantAsked  int
		wantPrompt bool // the question names the key file
	}{
		{name: "user key", key: func(*testing.T) []byte { return sshtest.UserKeyPEM() }},
		{name: "unauthorized key only", key: otherPEM, wantErr: denied},
		{name: "no key at all", wantErr: denied},
		{
			name:       "passphrase-protected key",
			key:        lockedPEM,
			prompter:   &prompter{secret: passphrase},
			wantAsked:  1,
			wantPrompt: true,
		},
		{
			name:       "passphrase-protected key, wrong passphrase",
			key:        lockedPEM,
			prompter:   &prompter{secret: "wrong"},
			wantErr:    denied,
			wantAsked:  3,
			wantPrompt: true,
		},
		{
			name:       "passphrase-protected key, prompt fails",
			key:        lockedPEM,
			prompter:   &prompter{err: errors.New("no terminal")},
			wantErr:    denied,
			wantAsked:  1,
			wantPrompt: true,
		},
		{name: "passphrase-protected key, nobody to ask", key: lockedPEM, wantErr: denied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, sshtest.Options{})
			w.trust(t)
			var ids []string
			if tt.key != nil {
				ids = append(ids, w.writeFile(t, "id_test", tt.key(t)))
			}
			d := w.dest(ids...)
			var opts dial.Options
			if tt.prompter != nil {
				opts.Prompter = tt.prompter
			}
			if tt.wantErr == nil {
				dialOK(t, d, opts)
			} else {
				err := dialErr(t, d, opts)
				got, ok := errors.AsType[*dial.AuthError](err)
				if !ok {
					t.Fatalf("Dial = %v (%T), want a *dial.AuthError", err, err)
				}
				if diff := cmp.Diff(tt.wantErr, got); diff != "" {
					t.Errorf("AuthError mismatch (-want +got):\n%s", diff)
				}
				if want := "git@127.0.0.1: Permission denied (publickey)."; err.Error() != want {
					t.Errorf("Dial error = %q, want %q", err.Error(), want)
				}
			}
			var asked []string
			if tt.prompter != nil {
				asked = tt.prompter.secrets
			}
			if len(asked) != tt.wantAsked {
				t.Errorf("asked %d questions (%q), want %d", len(asked), asked, tt.wantAsked)
			}
			if tt.wantPrompt && len(asked) > 0 {
				if want := fmt.Sprintf("Enter passphrase for key '%s': ", ids[0]); asked[0] != want {
					t.Errorf("question = %q, want %q", asked[0], want)
				}
			}
		})
	}
}

// serveAgent serves keyring on a Unix socket and returns its path.
func serveAgent(t *testing.T, keyring agent.Agent) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "gsa")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "agent.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	sshtest.Serve(t, ln, func(c net.Conn) { agent.ServeAgent(keyring, c) })
	return path
}

func TestDialAgent(t *testing.T) {
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: userPrivateKey(t)}); err != nil {
		t.Fatal(err)
	}
	sock := serveAgent(t, keyring)
	tests := []struct {
		name          string
		identityAgent string
		identities    bool // a (locked) identity file for the agent's key
		wantErr       bool
	}{
		{name: "SSH_AUTH_SOCK"},
		{name: "IdentityAgent names the socket", identityAgent: sock},
		{name: "IdentityAgent none", identityAgent: "none", wantErr: true},
		// The agent holds the key of an encrypted identity file: it signs,
		// and nobody is asked for the passphrase.
		{name: "agent holds the identity file's key", identities: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, sshtest.Options{})
			w.trust(t)
			d := w.dest()
			d.IdentitiesOnly = false
			d.IdentityAgent = tt.identityAgent
			p := &prompter{err: errors.New("must not be asked")}
			if tt.identities {
				d.IdentityFiles = []string{w.writeFile(t, "id_locked", lockedUserKeyPEM(t))}
				d.IdentitiesOnly = true
			}
			opts := dial.Options{AuthSock: sock, Prompter: p}
			if tt.identityAgent != "" {
				opts.AuthSock = ""
			}
			if tt.wantErr {
				if _, ok := errors.AsType[*dial.AuthError](dialErr(t, d, opts)); !ok {
					t.Errorf("Dial without the agent: want a *dial.AuthError")
				}
			} else {
				dialOK(t, d, opts)
			}
			if len(p.secrets) != 0 {
				t.Errorf("asked %q; want no question", p.secrets)
			}
		})
	}
}

func TestDialConnectRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close()
	d := config.Destination{HostName: "127.0.0.1", Port: addr.Port, User: "git", PubkeyAuthentication: true, StrictHostKeyChecking: "yes"}
	err = dialErr(t, d, dial.Options{})
	ce, ok := errors.AsType[*dial.ConnectError](err)
	if !ok {
		t.Fatalf("Dial to a closed port = %v, want a *dial.ConnectError", err)
	}
	if ce.Host != "127.0.0.1" || ce.Port != strconv.Itoa(addr.Port) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("ConnectError = %+v; want host 127.0.0.1, port %d, ECONNREFUSED", ce, addr.Port)
	}
	if want := fmt.Sprintf("connect to host 127.0.0.1 port %d: Connection refused", addr.Port); err.Error() != want {
		t.Errorf("Dial error = %q, want %q", err.Error(), want)
	}
}

// silentListener accepts connections and never says a word on them, like
// a server behind a blackholing firewall after the TCP handshake.
func silentListener(t *testing.T) int {
	t.Helper()
	return sshtest.Listen(t, nil).Addr().(*net.TCPAddr).Port
}

func TestDialConnectTimeout(t *testing.T) {
	port := silentListener(t)
	d := config.Destination{HostName: "127.0.0.1", Port: port, User: "git", PubkeyAuthentication: true, StrictHostKeyChecking: "yes", ConnectTimeout: 300 * time.Millisecond}
	errc := make(chan error, 1)
	go func() {
		client, err := dial.Dial(context.Background(), d, dial.Options{})
		if client != nil {
			client.Close()
		}
		errc <- err
	}()
	select {
	case err := <-errc:
		ce, ok := errors.AsType[*dial.ConnectError](err)
		if !ok || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Dial to a silent server = %v; want a *dial.ConnectError wrapping context.DeadlineExceeded", err)
		}
		if want := fmt.Sprintf("connect to host 127.0.0.1 port %d: Connection timed out", port); ce.Error() != want {
			t.Errorf("Dial error = %q, want %q", ce.Error(), want)
		}
	case <-time.After(testTimeout):
		t.Fatal("Dial ignored ConnectTimeout")
	}
}

func TestDialCancelled(t *testing.T) {
	port := silentListener(t)
	d := config.Destination{HostName: "127.0.0.1", Port: port, User: "git", PubkeyAuthentication: true, StrictHostKeyChecking: "yes"}
	ctx, cancel := context.WithCancel(testContext(t))
	var wrapped atomic.Bool
	errc := make(chan error, 1)
	go func() {
		client, err := dial.Dial(ctx, d, dial.Options{WrapConn: func(c net.Conn) net.Conn {
			wrapped.Store(true)
			cancel() // the handshake has begun, or is about to
			return c
		}})
		if client != nil {
			client.Close()
		}
		errc <- err
	}()
	select {
	case err := <-errc:
		if !wrapped.Load() {
			t.Fatalf("Dial = %v before the transport was up", err)
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled Dial = %v; want an error wrapping context.Canceled, not a timeout", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Dial ignored the cancelled context")
	}
}

func TestDialWrapConn(t *testing.T) {
	w := newWorld(t, sshtest.Options{})
	w.trust(t)
	var wraps atomic.Int32
	var read atomic.Int64
	opts := dial.Options{WrapConn: func(c net.Conn) net.Conn {
		wraps.Add(1)
		return &countingConn{Conn: c, n: &read}
	}}
	dialOK(t, w.dest(w.userKey(t)), opts)
	if n := wraps.Load(); n != 1 {
		t.Errorf("WrapConn called %d times, want 1", n)
	}
	if read.Load() == 0 {
		t.Error("nothing was read through the wrapped connection")
	}
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.n.Add(int64(n))
	return n, err
}

func TestDialBannerIsMadeVisible(t *testing.T) {
	// A server's banner tries to clear the screen, set the window title and
	// ring the bell; gitssh shows those bytes, as OpenSSH does, instead of
	// sending them to the terminal.
	w := newWorld(t, sshtest.Options{Banner: "Welcome \x1b[2J\x1b]0;pwned\x07to Grüße\r\n"})
	w.trust(t)
	var warn warnings
	dialOK(t, w.dest(w.userKey(t)), dial.Options{Warnf: warn.warnf})
	want := []string{`Welcome \033[2J\033]0;pwned\007to Grüße` + "\r"}
	if diff := cmp.Diff(want, warn.get()); diff != "" {
		t.Errorf("Warnf lines (-want +got):\n%s", diff)
	}
	for _, l := range warn.get() {
		if strings.ContainsAny(l, "\x1b\x07") {
			t.Errorf("a warning holds a raw control character: %q", l)
		}
	}
}
