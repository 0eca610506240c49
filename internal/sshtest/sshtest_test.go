package sshtest_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gitssh/gitssh/internal/sshtest"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

type result struct {
	Stdout, Stderr string
	Exit           string // see exitOf
}

// exitOf describes how a command ended.
func exitOf(err error) string {
	var exit *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case err == nil:
		return "status 0"
	case errors.As(err, &exit) && exit.Signal() != "":
		return "signal " + exit.Signal()
	case errors.As(err, &exit):
		return "status " + strconv.Itoa(exit.ExitStatus())
	case errors.As(err, &missing):
		return "no exit status"
	default:
		return "error: " + err.Error()
	}
}

// run runs cmd in a new session of c, after sending env, with stdin as input.
func run(t *testing.T, c *ssh.Client, cmd string, env map[string]string, stdin string) result {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatalf("NewSession: %v", err)
	}
	defer sess.Close()
	for k, v := range env {
		sess.Setenv(k, v) // a refusal is part of what the tests check
	}
	var stdout, stderr bytes.Buffer
	sess.Stdout, sess.Stderr = &stdout, &stderr
	sess.Stdin = strings.NewReader(stdin)
	err = sess.Run(cmd)
	return result{Stdout: stdout.String(), Stderr: stderr.String(), Exit: exitOf(err)}
}

func TestExec(t *testing.T) {
	tests := []struct {
		name  string
		cmd   string
		env   map[string]string
		stdin string
		want  result
	}{
		{name: "echo", cmd: "echo hello   world", want: result{Stdout: "hello world\n", Exit: "status 0"}},
		{name: "cat", cmd: "cat", stdin: "line 1\nline 2\n", want: result{Stdout: "line 1\nline 2\n", Exit: "status 0"}},
		{name: "exit", cmd: "exit 3", want: result{Exit: "status 3"}},
		{name: "env forwarded", cmd: "env GIT_PROTOCOL", env: map[string]string{"GIT_PROTOCOL": "version=2"}, want: result{Stdout: "version=2\n", Exit: "status 0"}},
		{name: "env not sent", cmd: "env GIT_PROTOCOL", want: result{Exit: "status 1"}},
		{name: "env not accepted", cmd: "env LANG", env: map[string]string{"LANG": "C"}, want: result{Exit: "status 1"}},
		{name: "sleep", cmd: "sleep 10ms", want: result{Exit: "status 0"}},
		{name: "stderr", cmd: "stderr oh no", want: result{Stderr: "oh no\n", Exit: "status 0"}},
		{name: "signal", cmd: "signal KILL", want: result{Exit: "signal KILL"}},
		{name: "signal prefix", cmd: "signal SIGTERM", want: result{Exit: "signal TERM"}},
		{name: "noexit", cmd: "noexit", want: result{Exit: "no exit status"}},
		{name: "bytes", cmd: "bytes 100000", want: result{Stdout: string(sshtest.Pattern(100000)), Exit: "status 0"}},
		{name: "unknown", cmd: "git-upload-pack '/p/r.git'", want: result{Stderr: "sshtest: git-upload-pack: command not found\n", Exit: "status 127"}},
		{name: "bad argument", cmd: "exit x", want: result{Stderr: "sshtest: usage: exit N\n", Exit: "status 2"}},
		{name: "barrier of one", cmd: "barrier 1", want: result{Exit: "status 0"}},
		{name: "barrier of none", cmd: "barrier 0", want: result{Stderr: "sshtest: usage: barrier N\n", Exit: "status 2"}},
	}
	for _, tr := range sshtest.Transports() {
		t.Run(tr.Name, func(t *testing.T) {
			s := tr.NewServer(t, sshtest.Options{})
			c := s.Dial(t)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					got := run(t, c, tt.cmd, tt.env, tt.stdin)
					if diff := cmp.Diff(tt.want, got); diff != "" {
						t.Errorf("run(%q) mismatch (-want +got):\n%s", tt.cmd, diff)
					}
				})
			}
		})
	}
}

func TestEnvRequests(t *testing.T) {
	tests := []struct {
		name      string
		acceptEnv []string
		env       []string // NAME=value, sent in order
		wantOK    []bool
		wantEnv   map[string]string
	}{
		{
			name:    "default accepts GIT_PROTOCOL only",
			env:     []string{"GIT_PROTOCOL=version=2", "LANG=C"},
			wantOK:  []bool{true, false},
			wantEnv: map[string]string{"GIT_PROTOCOL": "version=2"},
		},
		{
			name:      "AcceptEnv list",
			acceptEnv: []string{"LANG", "LC_ALL"},
			env:       []string{"GIT_PROTOCOL=version=2", "LANG=C", "LC_ALL=C.UTF-8"},
			wantOK:    []bool{false, true, true},
			wantEnv:   map[string]string{"LANG": "C", "LC_ALL": "C.UTF-8"},
		},
		{
			name:      "empty AcceptEnv refuses all",
			acceptEnv: []string{},
			env:       []string{"GIT_PROTOCOL=version=2"},
			wantOK:    []bool{false},
			wantEnv:   map[string]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sshtest.NewServer(t, sshtest.Options{AcceptEnv: tt.acceptEnv})
			sess, err := s.Dial(t).NewSession()
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			var gotOK []bool
			for _, kv := range tt.env {
				k, v, _ := strings.Cut(kv, "=")
				gotOK = append(gotOK, sess.Setenv(k, v) == nil) // Setenv wants a reply
			}
			if err := sess.Run("echo"); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantOK, gotOK); diff != "" {
				t.Errorf("Setenv accepted (-want +got):\n%s", diff)
			}
			want := []sshtest.Exec{{Conn: 1, User: "git", Command: "echo", Env: tt.wantEnv}}
			if diff := cmp.Diff(want, s.Execs()); diff != "" {
				t.Errorf("Execs() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestChannelLimits(t *testing.T) {
	tests := []struct {
		name       string
		opts       sshtest.Options
		wantReason ssh.RejectionReason
		wantMsg    string
	}{
		{"bitbucket cloud", sshtest.Options{MaxChannelsPerConn: 2}, ssh.Prohibited, "cannot open additional channels"},
		{"openssh MaxSessions", sshtest.Options{MaxChannelsPerConn: 2, RefuseReason: ssh.ConnectionFailed}, ssh.ConnectionFailed, "open failed"},
		{"gitlab-sshd", sshtest.Options{MaxChannelsPerConn: 2, RefuseReason: ssh.ResourceShortage}, ssh.ResourceShortage, "too many concurrent sessions"},
		{"custom message", sshtest.Options{MaxChannelsPerConn: 2, RefuseMessage: "go away"}, ssh.Prohibited, "go away"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sshtest.NewServer(t, tt.opts)
			c := s.Dial(t)
			// Two channels running "hang" fill the connection.
			var open []*ssh.Session
			for range 2 {
				sess, err := c.NewSession()
				if err != nil {
					t.Fatalf("NewSession below the limit: %v", err)
				}
				if err := sess.Start("hang"); err != nil {
					t.Fatal(err)
				}
				open = append(open, sess)
			}
			_, err := c.NewSession()
			var oce *ssh.OpenChannelError
			if !errors.As(err, &oce) {
				t.Fatalf("NewSession past the limit = %v, want *ssh.OpenChannelError", err)
			}
			if oce.Reason != tt.wantReason || oce.Message != tt.wantMsg {
				t.Errorf("refusal = %v %q, want %v %q", oce.Reason, oce.Message, tt.wantReason, tt.wantMsg)
			}
			// A channel closed by the client frees its slot once the
			// server's close has arrived (Wait returns).
			open[0].Close()
			open[0].Wait()
			if got := run(t, c, "echo again", nil, ""); got.Stdout != "again\n" {
				t.Errorf("after a close, run = %+v, want output", got)
			}
			// A finished command frees its slot too.
			if got := run(t, c, "exit 0", nil, ""); got.Exit != "status 0" {
				t.Errorf("second run after a close = %+v", got)
			}
			// Another connection has its own slots.
			if got := run(t, s.Dial(t), "echo other", nil, ""); got.Stdout != "other\n" {
				t.Errorf("on a second connection, run = %+v", got)
			}
			if got, want := s.Refused(), 1; got != want {
				t.Errorf("Refused() = %d, want %d", got, want)
			}
			if got, want := s.Channels(), 5; got != want {
				t.Errorf("Channels() = %d, want %d", got, want)
			}
		})
	}
}

func TestNoReuseAfterClose(t *testing.T) {
	s := sshtest.NewServer(t, sshtest.Options{NoReuseAfterClose: true})
	c := s.Dial(t)
	if got := run(t, c, "echo first", nil, ""); got.Stdout != "first\n" {
		t.Fatalf("first run = %+v", got)
	}
	_, err := c.NewSession()
	var oce *ssh.OpenChannelError
	if !errors.As(err, &oce) || oce.Reason != ssh.Prohibited {
		t.Fatalf("second NewSession = %v, want administratively prohibited", err)
	}
	if got := run(t, s.Dial(t), "echo fresh", nil, ""); got.Stdout != "fresh\n" {
		t.Errorf("on a new connection, run = %+v", got)
	}
}

func TestShell(t *testing.T) {
	tests := []struct {
		name        string
		opts        sshtest.Options
		wantRefused bool
	}{
		{name: "github-like", opts: sshtest.Options{}},
		{name: "git-only port", opts: sshtest.Options{RefuseShell: true}, wantRefused: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sshtest.NewServer(t, tt.opts)
			c := s.Dial(t)
			sess, err := c.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Close()
			var stderr bytes.Buffer
			sess.Stderr = &stderr
			err = sess.Shell() // wants a reply: failure is SSH_MSG_CHANNEL_FAILURE
			if gotRefused := err != nil; gotRefused != tt.wantRefused {
				t.Fatalf("Shell() = %v, want refused %v", err, tt.wantRefused)
			}
			if !tt.wantRefused {
				if got := exitOf(sess.Wait()); got != "status 1" {
					t.Errorf("shell ended with %s, want status 1", got)
				}
				if !strings.Contains(stderr.String(), "does not provide shell access") {
					t.Errorf("shell stderr = %q", stderr.String())
				}
			}
			if got := run(t, c, "echo exec works", nil, ""); got.Stdout != "exec works\n" {
				t.Errorf("exec after shell = %+v", got)
			}
		})
	}
}

func TestKeepalives(t *testing.T) {
	// A pipe server inside a bubble: "never answered" is checked by the
	// bubble being idle, not by a sleep.
	tests := []struct {
		name       string
		opts       sshtest.Options
		wantAnswer bool
	}{
		{name: "answered with failure", wantAnswer: true},
		{name: "ignored", opts: sshtest.Options{IgnoreKeepalives: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := sshtest.NewPipeServer(t, tt.opts)
				c := s.Dial(t)
				type reply struct {
					ok  bool
					err error
				}
				replies := make(chan reply, 1)
				go func() {
					ok, _, err := c.SendRequest("keepalive@openssh.com", true, nil)
					replies <- reply{ok, err}
				}()
				synctest.Wait()
				select {
				case r := <-replies:
					if !tt.wantAnswer {
						t.Fatalf("SendRequest returned %v, %v; want no answer", r.ok, r.err)
					}
					if r.ok || r.err != nil {
						t.Errorf("SendRequest = %v, %v; want false, nil (failure, like OpenSSH)", r.ok, r.err)
					}
				default:
					if tt.wantAnswer {
						t.Fatal("SendRequest got no answer")
					}
					c.Close() // unblocks it
					if r := <-replies; r.err == nil {
						t.Errorf("SendRequest after Close = %v, nil; want an error", r.ok)
					}
				}
				if got := s.Keepalives(); got != 1 {
					t.Errorf("Keepalives() = %d, want 1", got)
				}
			})
		})
	}
}

func TestAuth(t *testing.T) {
	tests := []struct {
		name    string
		signer  ssh.Signer
		wantErr bool
	}{
		{"authorized user key", sshtest.UserSigner(), false},
		{"other user key", sshtest.OtherUserSigner(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sshtest.NewServer(t, sshtest.Options{})
			config := s.ClientConfig()
			config.Auth = []ssh.AuthMethod{ssh.PublicKeys(tt.signer)}
			c, err := ssh.Dial("tcp", s.Addr(), config)
			if err == nil {
				c.Close()
			}
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Errorf("Dial = %v, want error %v", err, tt.wantErr)
			}
			if got := s.Accepted(); got != 1 {
				t.Errorf("Accepted() = %d, want 1", got)
			}
		})
	}
}

func TestHostKeyChecked(t *testing.T) {
	s := sshtest.NewServer(t, sshtest.Options{})
	config := s.ClientConfig()
	config.HostKeyCallback = ssh.FixedHostKey(sshtest.UserSigner().PublicKey())
	if c, err := ssh.Dial("tcp", s.Addr(), config); err == nil {
		c.Close()
		t.Fatal("Dial with a wrong host key succeeded")
	}
}

func TestAuthDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := sshtest.NewPipeServer(t, sshtest.Options{AuthDelay: 3 * time.Second})
		start := time.Now()
		s.Dial(t)
		if got := time.Since(start); got != 3*time.Second {
			t.Errorf("Dial took %v, want 3s", got)
		}
	})
}

func TestBanner(t *testing.T) {
	s := sshtest.NewServer(t, sshtest.Options{Banner: "Welcome to sshtest\n"})
	config := s.ClientConfig()
	var got string
	config.BannerCallback = func(msg string) error { got = msg; return nil }
	c, err := ssh.Dial("tcp", s.Addr(), config)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if want := "Welcome to sshtest\n"; got != want {
		t.Errorf("banner = %q, want %q", got, want)
	}
}

// TestConnectionEnds checks the ways a command can outlive its connection or
// its client, over each transport.
func TestConnectionEnds(t *testing.T) {
	tests := []struct {
		name       string
		cmd        string
		end        func(*sshtest.Server, *ssh.Client, *ssh.Session)
		wantStdout string
	}{
		{
			name:       "drop closes the connection mid-command",
			cmd:        "drop 5000",
			end:        func(*sshtest.Server, *ssh.Client, *ssh.Session) {},
			wantStdout: string(sshtest.Pattern(5000)),
		},
		{
			name: "hang until the server closes",
			cmd:  "hang",
			end:  func(s *sshtest.Server, _ *ssh.Client, _ *ssh.Session) { s.Close() },
		},
		{
			name: "hang until DropConns",
			cmd:  "hang",
			end:  func(s *sshtest.Server, _ *ssh.Client, _ *ssh.Session) { s.DropConns() },
		},
		{
			name: "sleep until the server closes",
			cmd:  "sleep 1h",
			end:  func(s *sshtest.Server, _ *ssh.Client, _ *ssh.Session) { s.Close() },
		},
	}
	for _, tr := range sshtest.Transports() {
		t.Run(tr.Name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					s := tr.NewServer(t, sshtest.Options{})
					c := s.Dial(t)
					sess, err := c.NewSession()
					if err != nil {
						t.Fatal(err)
					}
					var stdout bytes.Buffer
					sess.Stdout = &stdout
					if err := sess.Start(tt.cmd); err != nil {
						t.Fatal(err)
					}
					tt.end(s, c, sess)
					if got := exitOf(sess.Wait()); got != "no exit status" {
						t.Errorf("Wait: %s, want no exit status", got)
					}
					if err := c.Wait(); err == nil {
						t.Error("client Wait = nil, want the connection's error")
					}
					if stdout.String() != tt.wantStdout {
						t.Errorf("stdout = %d bytes, want %d", stdout.Len(), len(tt.wantStdout))
					}
				})
			}
		})
	}
}

func TestDropConnsKeepsServing(t *testing.T) {
	s := sshtest.NewServer(t, sshtest.Options{})
	c := s.Dial(t)
	s.DropConns()
	if err := c.Wait(); err == nil {
		t.Error("client Wait = nil after DropConns")
	}
	if got := run(t, s.Dial(t), "echo back", nil, ""); got.Stdout != "back\n" {
		t.Errorf("after DropConns, run = %+v", got)
	}
}

func TestCounters(t *testing.T) {
	s := sshtest.NewServer(t, sshtest.Options{})
	c1, c2 := s.Dial(t), s.Dial(t)
	run(t, c1, "echo 1", nil, "")
	run(t, c2, "echo 2", map[string]string{"GIT_PROTOCOL": "version=2"}, "")
	run(t, c1, "echo 3", nil, "")
	sess, err := c2.NewSession() // opened, never runs a command
	if err != nil {
		t.Fatal(err)
	}
	sess.Close()
	want := []sshtest.Exec{
		{Conn: 1, User: "git", Command: "echo 1", Env: map[string]string{}},
		{Conn: 2, User: "git", Command: "echo 2", Env: map[string]string{"GIT_PROTOCOL": "version=2"}},
		{Conn: 1, User: "git", Command: "echo 3", Env: map[string]string{}},
	}
	if diff := cmp.Diff(want, s.Execs()); diff != "" {
		t.Errorf("Execs() mismatch (-want +got):\n%s", diff)
	}
	if got := s.Accepted(); got != 2 {
		t.Errorf("Accepted() = %d, want 2", got)
	}
	if got := s.Channels(); got != 4 {
		t.Errorf("Channels() = %d, want 4", got)
	}
	if got := s.MaxRunning(); got != 1 {
		t.Errorf("MaxRunning() = %d after commands run one after another, want 1", got)
	}
	execs := s.Execs()
	execs[0].Env["X"] = "mutated"
	if _, ok := s.Execs()[0].Env["X"]; ok {
		t.Error("Execs() shares its maps with the server")
	}
}

func TestCloseWaitsForEverything(t *testing.T) {
	// synctest.Test fails if any goroutine of the bubble outlives it, so
	// this proves Close (run by t.Cleanup) ends every goroutine even with
	// commands hanging, sleeping and a handshake stuck in AuthDelay.
	synctest.Test(t, func(t *testing.T) {
		s := sshtest.NewPipeServer(t, sshtest.Options{AuthDelay: time.Second})
		c := s.Dial(t)
		for _, cmd := range []string{"hang", "sleep 1h", "cat", "barrier 2"} {
			sess, err := c.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			if err := sess.Start(cmd); err != nil {
				t.Fatal(err)
			}
		}
		s.DialConn(t) // a handshake that never starts
		s.Close()
		if err := c.Wait(); err == nil {
			t.Error("client Wait = nil after server Close")
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close = %v", err)
		}
	})
}

func TestKeys(t *testing.T) {
	keys := map[string]ssh.PublicKey{
		"host":  sshtest.HostSigner().PublicKey(),
		"user":  sshtest.UserSigner().PublicKey(),
		"other": sshtest.OtherUserSigner().PublicKey(),
	}
	seen := map[string]string{}
	for name, k := range keys {
		if k.Type() != ssh.KeyAlgoED25519 {
			t.Errorf("%s key type = %s, want ed25519", name, k.Type())
		}
		if prev, ok := seen[string(k.Marshal())]; ok {
			t.Errorf("%s and %s keys are equal", name, prev)
		}
		seen[string(k.Marshal())] = name
	}
	if !bytes.Equal(sshtest.HostSigner().PublicKey().Marshal(), keys["host"].Marshal()) {
		t.Error("HostSigner is not deterministic")
	}
	signer, err := ssh.ParsePrivateKey(sshtest.UserKeyPEM())
	if err != nil {
		t.Fatalf("ParsePrivateKey(UserKeyPEM()): %v", err)
	}
	if !bytes.Equal(signer.PublicKey().Marshal(), keys["user"].Marshal()) {
		t.Error("UserKeyPEM is not UserSigner's key")
	}
}

func TestKnownHostsLine(t *testing.T) {
	s := sshtest.NewServer(t, sshtest.Options{})
	path := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(path, []byte(s.KnownHostsLine()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cb, err := knownhosts.New(path)
	if err != nil {
		t.Fatal(err)
	}
	config := s.ClientConfig()
	config.HostKeyCallback = cb
	c, err := ssh.Dial("tcp", s.Addr(), config)
	if err != nil {
		t.Fatalf("Dial with KnownHostsLine: %v", err)
	}
	c.Close()
}

func TestPipe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := sshtest.Pipe()
		// Writes do not wait for a reader.
		if _, err := a.Write([]byte("hello ")); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Write([]byte("world")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4)
		if n, err := b.Read(buf); n != 4 || err != nil || string(buf) != "hell" {
			t.Errorf("Read = %d, %v, %q", n, err, buf[:n])
		}
		// A read deadline.
		b.SetReadDeadline(time.Now().Add(time.Second))
		rest, err := io.ReadAll(io.LimitReader(b, 7))
		if string(rest) != "o world" || err != nil {
			t.Errorf("ReadAll = %q, %v", rest, err)
		}
		start := time.Now()
		_, err = b.Read(buf)
		if !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) != time.Second {
			t.Errorf("Read past deadline = %v after %v, want deadline exceeded after 1s", err, time.Since(start))
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("deadline error %v is not a net.Error timeout", err)
		}
		b.SetReadDeadline(time.Time{})
		// Close: the peer reads what is buffered, then EOF; its writes fail.
		a.Write([]byte("bye"))
		a.Close()
		if got, err := io.ReadAll(b); string(got) != "bye" || err != nil {
			t.Errorf("ReadAll after peer Close = %q, %v", got, err)
		}
		if _, err := b.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
			t.Errorf("Write to a closed peer = %v, want io.ErrClosedPipe", err)
		}
		if _, err := a.Read(buf); !errors.Is(err, io.ErrClosedPipe) {
			t.Errorf("Read after Close = %v, want io.ErrClosedPipe", err)
		}
		b.Close()
	})
}

func TestListener(t *testing.T) {
	// One connection is served and ends when serve returns; one is held
	// in serve until Close, which must end it.
	served := make(chan string)
	l := sshtest.Listen(t, func(c net.Conn) {
		line := make([]byte, 4)
		io.ReadFull(c, line)
		served <- string(line)
		if string(line) == "hold" {
			io.Copy(io.Discard, c)
		}
	})
	readEOF := func(c net.Conn) error {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if n, err := c.Read(make([]byte, 1)); err != io.EOF {
			return fmt.Errorf("read = %d, %v; want EOF", n, err)
		}
		return nil
	}
	for _, msg := range []string{"done", "hold"} {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		if got := <-served; got != msg {
			t.Fatalf("served %q, want %q", got, msg)
		}
		if msg == "done" {
			if err := readEOF(c); err != nil {
				t.Errorf("after serve returned: %v", err)
			}
			continue
		}
		if got := l.Accepted(); got != 2 {
			t.Errorf("Accepted() = %d, want 2", got)
		}
		if err := l.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
		if err := readEOF(c); err != nil {
			t.Errorf("after Close: %v", err)
		}
	}
	if c, err := net.Dial("tcp", l.Addr().String()); err == nil {
		c.Close()
		t.Error("Dial after Close succeeded")
	}
}

func TestBarrier(t *testing.T) {
	// synctest.Wait lets every server goroutine finish what it can, so
	// that "still waiting" is a fact, not a guess about timing.
	synctest.Test(t, func(t *testing.T) {
		s := sshtest.NewPipeServer(t, sshtest.Options{})
		c1, c2 := s.Dial(t), s.Dial(t)
		start := func(c *ssh.Client) (sess *ssh.Session, done <-chan error) {
			sess, err := c.NewSession()
			if err != nil {
				t.Fatal(err)
			}
			if err := sess.Start("barrier 3"); err != nil {
				t.Fatal(err)
			}
			errc := make(chan error, 1)
			go func() { errc <- sess.Wait() }()
			return sess, errc
		}
		waiting := func(what string, done <-chan error) {
			t.Helper()
			synctest.Wait()
			select {
			case err := <-done:
				t.Fatalf("%s ended (%v) before 3 were waiting", what, err)
			default:
			}
		}

		// One that gives up no longer counts.
		gaveUp, gaveUpDone := start(c1)
		waiting("the first", gaveUpDone)
		gaveUp.Close()
		<-gaveUpDone

		_, a := start(c1)
		_, b := start(c2)
		waiting("two of three", a)
		waiting("two of three", b)
		_, c := start(c2)
		for _, done := range []<-chan error{a, b, c} {
			if err := <-done; err != nil {
				t.Errorf("barrier 3 = %v, want exit 0", err)
			}
		}
		if got := s.MaxRunning(); got != 3 {
			t.Errorf("MaxRunning() = %d, want 3", got)
		}
	})
}
