//go:build unix

package mux

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gitssh/gitssh/config"
	"github.com/gitssh/gitssh/dial"
	"github.com/gitssh/gitssh/internal/sshtest"
	"github.com/gitssh/gitssh/keepalive"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"
)

// Helpers shared by the session, pool and master tests.

// testTimeout bounds anything that could hang. It is a guard, never an
// assertion about how long something takes.
const testTimeout = 20 * time.Second

// testContext returns a context that ends at the hang guard or the test's
// end.
func testContext(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// sshtestDialer returns a DialFunc for srv: TCP to the Destination's
// HostName and Port (or a Pipe for a pipe server), wrapped with
// opts.WrapConn under the SSH connection as dial.Dial does, then the
// handshake with srv's client configuration. It may be called from any
// goroutine.
func sshtestDialer(t testing.TB, srv *sshtest.Server) DialFunc {
	return func(ctx context.Context, d config.Destination, opts dial.Options) (*ssh.Client, error) {
		var nc net.Conn
		if srv.Addr() == "pipe" {
			nc = srv.DialConn(t) // cannot fail for a pipe server
		} else {
			var nd net.Dialer
			var err error
			nc, err = nd.DialContext(ctx, "tcp", net.JoinHostPort(d.HostName, strconv.Itoa(d.Port)))
			if err != nil {
				return nil, err
			}
		}
		if opts.WrapConn != nil {
			nc = opts.WrapConn(nc)
		}
		stop := context.AfterFunc(ctx, func() { nc.Close() })
		defer stop()
		cc, chans, reqs, err := ssh.NewClientConn(nc, srv.Addr(), srv.ClientConfig())
		if err != nil {
			nc.Close()
			return nil, err
		}
		return ssh.NewClient(cc, chans, reqs), nil
	}
}

// sshtestDest returns a Destination for srv, with keepalives off.
func sshtestDest(t testing.TB, srv *sshtest.Server) config.Destination {
	t.Helper()
	d := config.Destination{Alias: "sshtest", HostName: "pipe", User: "git"}
	if addr := srv.Addr(); addr != "pipe" {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		d.HostName = host
		if d.Port, err = strconv.Atoi(port); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// sessionConn returns a connection to srv made by dialConn, closed at the
// end of the test. Call it from the test's goroutine.
func sessionConn(t testing.TB, srv *sshtest.Server) *conn {
	t.Helper()
	c, err := dialConn(testContext(t), sshtestDialer(t, srv), sshtestDest(t, srv), dial.Options{})
	if err != nil {
		t.Fatalf("dialConn: %v", err)
	}
	t.Cleanup(c.close)
	return c
}

// waitFor waits until cond holds, checking it every millisecond; it fails
// the test at the hang guard.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// execsOf returns the command lines srv has run.
func execsOf(srv *sshtest.Server) []string {
	var lines []string
	for _, e := range srv.Execs() {
		lines = append(lines, e.Command)
	}
	return lines
}

// sessionResult is what runSession returned, with what it wrote.
type sessionResult struct {
	status         int
	err            error
	stdout, stderr string
}

func runLine(ctx context.Context, c *conn, cmd Command) sessionResult {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	status, err := runSession(ctx, c, cmd)
	return sessionResult{status: status, err: err, stdout: stdout.String(), stderr: stderr.String()}
}

func TestRunSessionExitStatus(t *testing.T) {
	tests := []struct {
		name       string
		line       string
		wantStatus int
		wantStdout string
		wantStderr string
	}{
		{name: "zero", line: "exit 0", wantStatus: 0},
		{name: "nonzero passed through", line: "exit 7", wantStatus: 7},
		{name: "output and zero", line: "echo hello world", wantStatus: 0, wantStdout: "hello world\n"},
		{name: "stderr kept apart", line: "stderr oops", wantStatus: 0, wantStderr: "oops\n"},
		{name: "unknown command", line: "nosuch", wantStatus: 127, wantStderr: "sshtest: nosuch: command not found\n"},
		// OpenSSH's ssh exits 255, and reports no error, for these two.
		{name: "signal is 255 without error", line: "signal KILL", wantStatus: ExitStatusLost},
		{name: "no exit status is 255 without error", line: "noexit", wantStatus: ExitStatusLost},
	}
	for _, tr := range sshtest.Transports() {
		t.Run(tr.Name, func(t *testing.T) {
			srv := tr.NewServer(t, sshtest.Options{})
			c := sessionConn(t, srv)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					got := runLine(testContext(t), c, Command{Line: tt.line})
					want := sessionResult{status: tt.wantStatus, stdout: tt.wantStdout, stderr: tt.wantStderr}
					if diff := cmp.Diff(want, got, cmp.AllowUnexported(sessionResult{}), cmp.Comparer(sameError)); diff != "" {
						t.Errorf("runSession(%q) mismatch (-want +got):\n%s", tt.line, diff)
					}
				})
			}
		})
	}
}

// sameError compares errors by presence only; tests check their types with
// errors.As.
func sameError(a, b error) bool { return (a == nil) == (b == nil) }

func TestRunSessionEnv(t *testing.T) {
	tests := []struct {
		name       string
		env        []string
		line       string
		wantStatus int
		wantStdout string
		wantEnv    map[string]string // what the server accepted
	}{
		{
			name:       "forwarded",
			env:        []string{"GIT_PROTOCOL=version=2"},
			line:       "env GIT_PROTOCOL",
			wantStdout: "version=2\n",
			wantEnv:    map[string]string{"GIT_PROTOCOL": "version=2"},
		},
		{
			name:       "refused variable does not fail the command",
			env:        []string{"LC_ALL=C", "GIT_PROTOCOL=version=2"},
			line:       "env GIT_PROTOCOL",
			wantStdout: "version=2\n",
			wantEnv:    map[string]string{"GIT_PROTOCOL": "version=2"},
		},
		{
			name:       "refused variable is not set",
			env:        []string{"LC_ALL=C"},
			line:       "env LC_ALL",
			wantStatus: 1,
			wantEnv:    map[string]string{},
		},
	}
	for _, tr := range sshtest.Transports() {
		t.Run(tr.Name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					srv := tr.NewServer(t, sshtest.Options{})
					c := sessionConn(t, srv)
					got := runLine(testContext(t), c, Command{Line: tt.line, Env: tt.env})
					if got.err != nil || got.status != tt.wantStatus || got.stdout != tt.wantStdout {
						t.Errorf("runSession(%q, env %q) = %d, %v, stdout %q; want %d, nil, %q",
							tt.line, tt.env, got.status, got.err, got.stdout, tt.wantStatus, tt.wantStdout)
					}
					execs := srv.Execs()
					if len(execs) != 1 {
						t.Fatalf("server ran %d commands, want 1", len(execs))
					}
					if diff := cmp.Diff(tt.wantEnv, execs[0].Env); diff != "" {
						t.Errorf("server's environment mismatch (-want +got):\n%s", diff)
					}
				})
			}
		})
	}
}

func TestRunSessionOutputCompleteOnReturn(t *testing.T) {
	const n = 8 << 20
	for _, tr := range sshtest.Transports() {
		t.Run(tr.Name, func(t *testing.T) {
			srv := tr.NewServer(t, sshtest.Options{})
			c := sessionConn(t, srv)
			var stdout bytes.Buffer
			line := "bytes " + strconv.Itoa(n)
			status, err := runSession(testContext(t), c, Command{Line: line, Stdout: &stdout, Stderr: io.Discard})
			// Read at return: a copy still running would also be a race.
			got := stdout.Len()
			if status != 0 || err != nil {
				t.Fatalf("runSession(%q) = %d, %v; want 0, nil", line, status, err)
			}
			if got != n {
				t.Fatalf("runSession(%q) returned with %d bytes written, want %d", line, got, n)
			}
			if !bytes.Equal(stdout.Bytes(), sshtest.Pattern(n)) {
				t.Errorf("runSession(%q) wrote bytes that differ from the pattern", line)
			}
		})
	}
}

func TestRunSessionStdinEOFReachesServer(t *testing.T) {
	tests := []struct {
		name  string
		stdin []byte
	}{
		{name: "empty", stdin: nil},
		{name: "short", stdin: []byte("0000 want refs/heads/main\n")},
		{name: "larger than a channel window", stdin: sshtest.Pattern(3 << 20)},
	}
	for _, tr := range sshtest.Transports() {
		t.Run(tr.Name, func(t *testing.T) {
			srv := tr.NewServer(t, sshtest.Options{})
			c := sessionConn(t, srv)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					var stdout bytes.Buffer
					status, err := runSession(testContext(t), c, Command{
						Line:   "cat",
						Stdin:  bytes.NewReader(tt.stdin),
						Stdout: &stdout,
						Stderr: io.Discard,
					})
					if status != 0 || err != nil {
						t.Fatalf("runSession(cat) = %d, %v; want 0, nil", status, err)
					}
					if !bytes.Equal(stdout.Bytes(), tt.stdin) {
						t.Errorf("cat echoed %d bytes, want the %d sent", stdout.Len(), len(tt.stdin))
					}
				})
			}
		})
	}
}

// watchedFile is an *os.File (so SetReadDeadline is promoted) that counts
// the reads in progress.
type watchedFile struct {
	*os.File
	reading atomic.Int32
	reads   atomic.Int32
}

func (w *watchedFile) Read(b []byte) (int, error) {
	w.reading.Add(1)
	defer w.reading.Add(-1)
	w.reads.Add(1)
	return w.File.Read(b)
}

func TestRunSessionStdinNeverEnds(t *testing.T) {
	tests := []struct {
		name string
		line string
		want int
	}{
		{name: "exit", line: "exit 0", want: 0},
		{name: "exit status", line: "exit 3", want: 3},
		{name: "output then exit", line: "echo done", want: 0},
	}
	for _, tr := range sshtest.Transports() {
		t.Run(tr.Name, func(t *testing.T) {
			srv := tr.NewServer(t, sshtest.Options{})
			c := sessionConn(t, srv)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					r, w, err := os.Pipe()
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { r.Close(); w.Close() })
					stdin := &watchedFile{File: r}
					// w stays open: stdin never ends.
					status, err := runSession(testContext(t), c, Command{Line: tt.line, Stdin: stdin, Stdout: io.Discard, Stderr: io.Discard})
					if status != tt.want || err != nil {
						t.Fatalf("runSession(%q) = %d, %v; want %d, nil", tt.line, status, err, tt.want)
					}
					if n := stdin.reading.Load(); n != 0 {
						t.Errorf("runSession returned with %d reads of stdin still in progress", n)
					}
					// Nothing reads the pipe any more: what is written next
					// is still there for us.
					if err := r.SetReadDeadline(time.Time{}); err != nil {
						t.Fatal(err)
					}
					reads := stdin.reads.Load()
					if _, err := w.Write([]byte("after")); err != nil {
						t.Fatal(err)
					}
					r.SetReadDeadline(time.Now().Add(testTimeout))
					got := make([]byte, 5)
					if _, err := io.ReadFull(r, got); err != nil || string(got) != "after" {
						t.Errorf("read after runSession = %q, %v; want %q (the stdin copy still runs)", got, err, "after")
					}
					if n := stdin.reads.Load(); n != reads {
						t.Errorf("stdin was read %d more times after runSession returned", n-reads)
					}
				})
			}
		})
	}
}

func TestRunSessionShell(t *testing.T) {
	tests := []struct {
		name       string
		opts       sshtest.Options
		wantStatus int
		wantErr    error
	}{
		{name: "git-only server refuses", opts: sshtest.Options{RefuseShell: true}, wantStatus: ExitStatusLost, wantErr: ErrShellRefused},
		{name: "GitHub-style answer", opts: sshtest.Options{}, wantStatus: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := sshtest.NewServer(t, tt.opts)
			c := sessionConn(t, srv)
			got := runLine(testContext(t), c, Command{})
			if got.status != tt.wantStatus || !errors.Is(got.err, tt.wantErr) || (tt.wantErr == nil && got.err != nil) {
				t.Errorf("runSession(shell) = %d, %v; want %d, %v", got.status, got.err, tt.wantStatus, tt.wantErr)
			}
			if tt.wantErr == nil && !strings.Contains(got.stderr, "does not provide shell access") {
				t.Errorf("runSession(shell) stderr = %q, want the server's greeting", got.stderr)
			}
		})
	}
}

func TestRunSessionConnectionLost(t *testing.T) {
	for _, tr := range sshtest.Transports() {
		t.Run(tr.Name, func(t *testing.T) {
			// "drop" sends nothing before it drops: that command was not
			// delivered (TestRunSessionNotDelivered).
			for _, line := range []string{"drop 1", "drop 100000"} {
				t.Run(line, func(t *testing.T) {
					srv := tr.NewServer(t, sshtest.Options{})
					c := sessionConn(t, srv)
					got := runLine(testContext(t), c, Command{Line: line})
					lost, ok := errors.AsType[*ConnectionLostError](got.err)
					if !ok || got.status != ExitStatusLost {
						t.Fatalf("runSession(%q) = %d, %v; want %d, *ConnectionLostError", line, got.status, got.err, ExitStatusLost)
					}
					if lost.Host != c.host {
						t.Errorf("ConnectionLostError.Host = %q, want %q", lost.Host, c.host)
					}
					if want := "Connection to " + c.host + " closed by remote host."; lost.Error() != want {
						t.Errorf("ConnectionLostError.Error() = %q, want %q", lost.Error(), want)
					}
					if _, isOpen := errors.AsType[*openError](got.err); isOpen {
						t.Errorf("runSession(%q) error is an *openError: the command would be run again", line)
					}
					if _, nd := errors.AsType[*notDeliveredError](got.err); nd {
						t.Errorf("runSession(%q) error is a *notDeliveredError: the command would be run again", line)
					}
				})
			}
		})
	}
}

func TestRunSessionChannelRefused(t *testing.T) {
	tests := []struct {
		reason ssh.RejectionReason
		want   ChannelRefusedError
	}{
		{reason: ssh.Prohibited, want: ChannelRefusedError{Reason: "administratively prohibited", Message: "cannot open additional channels"}},
		{reason: ssh.ConnectionFailed, want: ChannelRefusedError{Reason: "connect failed", Message: "open failed"}},
		{reason: ssh.ResourceShortage, want: ChannelRefusedError{Reason: "resource shortage", Message: "too many concurrent sessions"}},
	}
	for _, tt := range tests {
		t.Run(tt.want.Reason, func(t *testing.T) {
			srv := sshtest.NewServer(t, sshtest.Options{MaxChannelsPerConn: 1, RefuseReason: tt.reason})
			c := sessionConn(t, srv)
			held, err := c.client.NewSession() // takes the only slot
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { held.Close() })

			got := runLine(testContext(t), c, Command{Line: "exit 0"})
			if _, ok := errors.AsType[*openError](got.err); !ok {
				t.Fatalf("runSession = %d, %v; want an *openError", got.status, got.err)
			}
			refused, ok := errors.AsType[*ChannelRefusedError](got.err)
			if !ok {
				t.Fatalf("runSession error %v does not wrap a *ChannelRefusedError", got.err)
			}
			if diff := cmp.Diff(tt.want, *refused); diff != "" {
				t.Errorf("ChannelRefusedError mismatch (-want +got):\n%s", diff)
			}
			if got.status != ExitStatusLost {
				t.Errorf("runSession status = %d, want %d", got.status, ExitStatusLost)
			}
			if n := len(srv.Execs()); n != 0 {
				t.Errorf("server ran %d commands, want 0", n)
			}
		})
	}
}

func TestRunSessionContextCancelClosesChannel(t *testing.T) {
	// One channel per connection: the next command can only run if the
	// cancelled one's channel was closed.
	srv := sshtest.NewServer(t, sshtest.Options{MaxChannelsPerConn: 1})
	c := sessionConn(t, srv)
	ctx, cancel := context.WithCancel(testContext(t))
	var wg sync.WaitGroup
	var got sessionResult
	wg.Go(func() { got = runLine(ctx, c, Command{Line: "hang"}) })
	waitFor(t, "the command to start", func() bool { return len(srv.Execs()) == 1 })
	cancel()
	wg.Wait()
	if !errors.Is(got.err, context.Canceled) || got.status != ExitStatusLost {
		t.Fatalf("cancelled runSession = %d, %v; want %d, context.Canceled", got.status, got.err, ExitStatusLost)
	}
	next := runLine(testContext(t), c, Command{Line: "echo next"})
	if next.status != 0 || next.err != nil || next.stdout != "next\n" {
		t.Errorf("runSession after a cancelled one = %d, %v, %q; want 0, nil, %q", next.status, next.err, next.stdout, "next\n")
	}
	if n := srv.Refused(); n != 0 {
		t.Errorf("server refused %d channels, want 0", n)
	}
}

func TestRunSessionUninterruptibleStdinDoesNotBlock(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	c := sessionConn(t, srv)
	// An io.Pipe has no SetReadDeadline: its read is abandoned, and ends
	// when the pipe is closed at the end of the test.
	r, w := io.Pipe()
	t.Cleanup(func() { w.Close() })
	status, err := runSession(testContext(t), c, Command{Line: "exit 5", Stdin: r, Stdout: io.Discard, Stderr: io.Discard})
	if status != 5 || err != nil {
		t.Errorf("runSession(exit 5) = %d, %v; want 5, nil", status, err)
	}
}

func TestRunSessionKeepalive(t *testing.T) {
	tests := []struct {
		name       string
		opts       sshtest.Options
		line       string
		wantStatus int
		wantLost   bool
	}{
		{name: "answered keepalives keep a silent command alive", line: "sleep 120", wantStatus: 0},
		{name: "unanswered keepalives end the connection", opts: sshtest.Options{IgnoreKeepalives: true}, line: "hang", wantStatus: ExitStatusLost, wantLost: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := sshtest.NewPipeServer(t, tt.opts)
				d := sshtestDest(t, srv)
				d.ServerAliveInterval, d.ServerAliveCountMax = 15*time.Second, 3
				c, err := dialConn(t.Context(), sshtestDialer(t, srv), d, dial.Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(c.close)
				got := runLine(t.Context(), c, Command{Line: tt.line})
				lost, isLost := errors.AsType[*ConnectionLostError](got.err)
				if got.status != tt.wantStatus || isLost != tt.wantLost || (!tt.wantLost && got.err != nil) {
					t.Fatalf("runSession(%q) = %d, %v; want %d, lost %v", tt.line, got.status, got.err, tt.wantStatus, tt.wantLost)
				}
				if !tt.wantLost {
					return
				}
				if !errors.Is(lost, keepalive.ErrTimeout) {
					t.Errorf("ConnectionLostError %v does not wrap keepalive.ErrTimeout", lost)
				}
				if _, nd := errors.AsType[*notDeliveredError](got.err); nd {
					t.Errorf("a command whose link died is taken for not delivered: it could run twice")
				}
				if want := "Timeout, server pipe not responding."; lost.Error() != want {
					t.Errorf("ConnectionLostError.Error() = %q, want %q", lost.Error(), want)
				}
				if srv.Keepalives() == 0 {
					t.Errorf("server got no keepalive")
				}
			})
		})
	}
}

func TestRunSessionNotDelivered(t *testing.T) {
	// blockedStdin is a pipe nobody writes to yet, as git's stdin is while
	// it waits for the server to speak first.
	blockedStdin := func(t *testing.T) (*os.File, *os.File) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close(); w.Close() })
		return r, w
	}
	tests := []struct {
		name          string
		line          string
		stdin         string // written to stdin before the command runs
		blocked       bool   // stdin is a pipe with nothing in it
		wantDelivered bool   // a byte crossed: must not run again
	}{
		{name: "nothing either way", line: "drop"},
		{name: "stdin waiting for the server", line: "drop", blocked: true},
		{name: "a byte from the server", line: "drop 1", wantDelivered: true},
		{name: "stdin sent", line: "readdrop 5", stdin: "hello", wantDelivered: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := sshtest.NewServer(t, sshtest.Options{})
			c := sessionConn(t, srv)
			cmd := Command{Line: tt.line}
			var stdinW *os.File
			switch {
			case tt.blocked:
				var r *os.File
				r, stdinW = blockedStdin(t)
				cmd.Stdin = r
			case tt.stdin != "":
				cmd.Stdin = strings.NewReader(tt.stdin)
			}
			got := runLine(testContext(t), c, cmd)
			if got.status != ExitStatusLost {
				t.Errorf("runSession(%q) status = %d, want %d", tt.line, got.status, ExitStatusLost)
			}
			lost, isLost := errors.AsType[*ConnectionLostError](got.err)
			if !isLost {
				t.Fatalf("runSession(%q) = %v, want an error wrapping *ConnectionLostError", tt.line, got.err)
			}
			if want := "Connection to " + c.host + " closed by remote host."; got.err.Error() != want || lost.Error() != want {
				t.Errorf("runSession(%q) error = %q, want %q", tt.line, got.err, want)
			}
			nd, notDelivered := errors.AsType[*notDeliveredError](got.err)
			if notDelivered == tt.wantDelivered {
				t.Fatalf("runSession(%q) = %#v: not delivered = %v, want %v", tt.line, got.err, notDelivered, !tt.wantDelivered)
			}
			if notDelivered && len(nd.held) != 0 {
				t.Errorf("not delivered, held %q; want nothing held", nd.held)
			}
			if stdinW != nil {
				// The interrupted read left the pipe readable for the
				// next attempt.
				stdinW.Write([]byte("x"))
				b := make([]byte, 1)
				if n, err := cmd.Stdin.Read(b); n != 1 || err != nil {
					t.Errorf("stdin after the attempt: Read = %d, %v; want 1, nil", n, err)
				}
			}
		})
	}
}

// failingChannel is a channel whose writes fail after ok bytes.
type failingChannel struct {
	ok     int
	closed bool
}

func (f *failingChannel) Write(b []byte) (int, error) {
	if f.ok <= 0 {
		return 0, io.EOF
	}
	n := min(f.ok, len(b))
	f.ok -= n
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

func (f *failingChannel) Close() error { f.closed = true; return nil }

func TestCopyStdinHoldsUndelivered(t *testing.T) {
	tests := []struct {
		name        string
		ok          int // bytes the channel accepts
		wantHeld    string
		wantWritten int64
	}{
		{name: "nothing written: the chunk is held", ok: 0, wantHeld: "hello", wantWritten: 0},
		{name: "a byte written: nothing is held", ok: 1, wantHeld: "", wantWritten: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := &failingChannel{ok: tt.ok}
			in := copyStdin(ch, strings.NewReader("hello"))
			<-in.done
			if !in.stop() {
				t.Fatal("stop() = false for a reader that ends")
			}
			if got := string(in.held); got != tt.wantHeld {
				t.Errorf("held = %q, want %q", got, tt.wantHeld)
			}
			if got := in.written.Load(); got != tt.wantWritten {
				t.Errorf("written = %d, want %d", got, tt.wantWritten)
			}
			if ch.closed {
				t.Errorf("EOF sent on a channel that failed")
			}
		})
	}
	t.Run("held bytes come first on the next attempt", func(t *testing.T) {
		r := withHeld(strings.NewReader(" world"), &notDeliveredError{held: []byte("hello")})
		b, err := io.ReadAll(r)
		if string(b) != "hello world" || err != nil {
			t.Errorf("ReadAll = %q, %v; want %q, nil", b, err, "hello world")
		}
	})
}

func TestRunSessionChannelKeepalive(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration // ServerAliveInterval
		wantLost bool
	}{
		{name: "a silent command survives an idle timer that ignores global requests", interval: 3 * time.Second},
		{name: "without keepalives the idle timer strikes", interval: 0, wantLost: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := sshtest.NewPipeServer(t, sshtest.Options{IdleTimeout: 10 * time.Second})
				d := sshtestDest(t, srv)
				d.ServerAliveInterval, d.ServerAliveCountMax = tt.interval, 3
				c, err := dialConn(t.Context(), sshtestDialer(t, srv), d, dial.Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(c.close)
				var debug []string
				got := runLine(t.Context(), c, Command{Line: "sleep 60", Debugf: func(f string, a ...any) {
					debug = append(debug, fmt.Sprintf(f, a...))
				}})
				_, lost := errors.AsType[*ConnectionLostError](got.err)
				if lost != tt.wantLost || (!tt.wantLost && (got.status != 0 || got.err != nil)) {
					t.Fatalf("runSession(sleep 60) = %d, %v; want lost %v", got.status, got.err, tt.wantLost)
				}
				if tt.wantLost {
					return
				}
				if srv.Keepalives() == 0 {
					t.Errorf("server got no global keepalive: the connection keepalive must go on too")
				}
				if n := srv.LarvalKeepalives(); n != 0 {
					t.Errorf("server got %d channel keepalives before the exec, want 0", n)
				}
				// One per 3s of a 60s silence; the one due as the command
				// ends may or may not go out.
				n := srv.ChannelKeepalives()
				if n != 19 && n != 20 {
					t.Errorf("server got %d channel keepalives, want 19 or 20 (one per 3s of a 60s silence)", n)
				}
				if !slices.Contains(debug, "sent 19 channel keepalives") && !slices.Contains(debug, "sent 20 channel keepalives") {
					t.Errorf("debug lines %q do not say 19 or 20 channel keepalives were sent", debug)
				}
			})
		})
	}
}
