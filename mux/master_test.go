//go:build unix

package mux

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitssh/gitssh/config"
	"github.com/gitssh/gitssh/dial"
	"github.com/gitssh/gitssh/internal/sshtest"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"
)

// testMaster is a Master serving on a socket of its own.
type testMaster struct {
	*Master
	path   string
	client Client
	stop   context.CancelFunc
	done   chan error // receives Serve's result
}

// startMaster starts a master with cfg on a fresh socket. It is stopped,
// and Serve has returned, when the test ends.
func startMaster(t *testing.T, cfg MasterConfig) *testMaster {
	t.Helper()
	if cfg.Version == "" {
		cfg.Version = "gitssh test"
	}
	path := filepath.Join(shortTempDir(t), "s")
	ctx, cancel := context.WithCancel(context.Background())
	tm := &testMaster{
		Master: NewMaster(cfg),
		path:   path,
		client: Client{SocketPath: path, Version: cfg.Version},
		stop:   cancel,
		done:   make(chan error, 1),
	}
	ready := make(chan struct{})
	go func() { tm.done <- tm.Serve(ctx, path, func() { close(ready) }) }()
	select {
	case <-ready:
	case err := <-tm.done:
		cancel()
		t.Fatalf("Serve: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		tm.wait(t)
	})
	return tm
}

// wait waits for Serve to return and returns its error.
func (tm *testMaster) wait(t testing.TB) error {
	t.Helper()
	select {
	case err := <-tm.done:
		tm.done <- err // for the next caller
		return err
	case <-time.After(testTimeout):
		t.Fatal("the master's Serve did not return")
		return nil
	}
}

// clientResult is what Client.Run returned and what the command wrote.
type clientResult struct {
	status         int
	err            error
	stdout, stderr string
}

// runClient runs line through the master as a gitssh client would, with
// os.Pipe stdio: stdin is written and closed, stdout and stderr are read
// until every copy of their write ends is closed.
func runClient(ctx context.Context, t testing.TB, c Client, d config.Destination, line, stdin string, asker dial.Prompter) clientResult {
	t.Helper()
	var files [6]*os.File // stdin r, w; stdout r, w; stderr r, w
	for i := 0; i < len(files); i += 2 {
		r, w, err := os.Pipe()
		if err != nil {
			t.Errorf("os.Pipe: %v", err) // not Fatal: runClient may run in another goroutine
			return clientResult{status: ExitStatusLost, err: err}
		}
		files[i], files[i+1] = r, w
		t.Cleanup(func() { r.Close(); w.Close() })
	}
	inR, inW, outR, outW, errR, errW := files[0], files[1], files[2], files[3], files[4], files[5]
	var wg sync.WaitGroup
	var stdout, stderr bytes.Buffer
	wg.Go(func() { io.WriteString(inW, stdin); inW.Close() })
	for _, p := range []struct {
		r   *os.File
		buf *bytes.Buffer
	}{{outR, &stdout}, {errR, &stderr}} {
		p.r.SetReadDeadline(time.Now().Add(testTimeout))
		wg.Go(func() { io.Copy(p.buf, p.r) })
	}
	req := Request{Dest: d, Command: line}
	status, err := c.Run(ctx, req, Stdio{inR, outW, errW}, asker)
	inR.Close()
	outW.Close()
	errW.Close()
	wg.Wait()
	return clientResult{status: status, err: err, stdout: stdout.String(), stderr: stderr.String()}
}

// noAsker fails every question.
type noAsker struct{}

func (noAsker) Secret(string) (string, error)  { return "", errors.New("nobody to ask") }
func (noAsker) Confirm(string) (string, error) { return "", errors.New("nobody to ask") }

func TestMasterRunsCommands(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	tm := startMaster(t, MasterConfig{Dial: sshtestDialer(t, srv)})
	d := sshtestDest(t, srv)
	tests := []struct {
		name  string
		line  string
		stdin string
		want  clientResult
	}{
		{name: "exit status", line: "exit 7", want: clientResult{status: 7}},
		{name: "stdout", line: "echo hello", want: clientResult{stdout: "hello\n"}},
		{name: "stderr", line: "stderr oops", want: clientResult{stderr: "oops\n"}},
		{name: "stdin to stdout", line: "cat", stdin: "0032want abc\n", want: clientResult{stdout: "0032want abc\n"}},
		{name: "large output", line: "bytes 1000000", want: clientResult{stdout: string(sshtest.Pattern(1000000))}},
		{name: "signal", line: "signal TERM", want: clientResult{status: ExitStatusLost}},
		{name: "large input", line: "cat", stdin: string(sshtest.Pattern(3 * relayWindow)), want: clientResult{stdout: string(sshtest.Pattern(3 * relayWindow))}},
	}
	for _, relay := range []bool{false, true} {
		c := tm.client
		c.Relay = relay
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/relay=%v", tt.name, relay), func(t *testing.T) {
				got := runClient(testContext(t), t, c, d, tt.line, tt.stdin, noAsker{})
				if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(clientResult{}), cmp.Comparer(sameError)); diff != "" {
					t.Errorf("Run(%q) mismatch (-want +got):\n%s", tt.line, diff)
				}
			})
		}
	}
	if n := srv.Accepted(); n != 1 {
		t.Errorf("server accepted %d connections for %d sequential commands, want 1", n, 2*len(tests))
	}
}

func TestMasterSharesConnections(t *testing.T) {
	// Every command waits until all n run at once, so the master carries
	// them all together, or they never end.
	const n = 20
	line := fmt.Sprintf("barrier %d", n)
	srv := sshtest.NewServer(t, sshtest.Options{})
	tm := startMaster(t, MasterConfig{Dial: sshtestDialer(t, srv), Version: "gitssh 1.2.3"})
	d := sshtestDest(t, srv)
	ctx := testContext(t)
	results := make([]clientResult, n)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			results[i] = runClient(ctx, t, tm.client, d, line, "", noAsker{})
		})
	}
	wg.Wait()
	for i, r := range results {
		if r.status != 0 || r.err != nil {
			t.Errorf("client %d = %d, %v (stderr %q); want 0, nil", i, r.status, r.err, r.stderr)
		}
	}
	if got := srv.MaxRunning(); got != n {
		t.Errorf("server ran at most %d commands at once, want all %d", got, n)
	}
	accepted := srv.Accepted()
	if accepted > 2 {
		t.Errorf("server accepted %d connections for %d concurrent clients, want at most 2", accepted, n)
	}

	pid, st, err := tm.client.Control(ctx, "status")
	if err != nil || st == nil || pid != os.Getpid() {
		t.Fatalf("Control(status) = %d, %v, %v; want pid %d and a status", pid, st, err, os.Getpid())
	}
	if st.PID != os.Getpid() || st.Version != "gitssh 1.2.3" || st.Clients < 1 {
		t.Errorf("status = pid %d, version %q, %d clients; want %d, %q, at least 1 (itself)", st.PID, st.Version, st.Clients, os.Getpid(), "gitssh 1.2.3")
	}
	want := []PoolStats{{
		Destination: "git@sshtest",
		Key:         d.PoolKey(""),
		Conns:       accepted,
		Commands:    n,
		Dials:       int64(accepted),
	}}
	if diff := cmp.Diff(want, st.Pools, cmpIgnoreSince, cmpIgnoreWarm); diff != "" {
		t.Errorf("status pools mismatch (-want +got):\n%s", diff)
	}
}

var cmpIgnoreSince = cmp.FilterPath(func(p cmp.Path) bool {
	return p.Last().String() == ".Since"
}, cmp.Ignore())

// cmpIgnoreWarm ignores the warm channel counts, which depend on timing.
var cmpIgnoreWarm = cmp.FilterPath(func(p cmp.Path) bool {
	f := p.Last().String()
	return f == ".WarmOpen" || f == ".Warm"
}, cmp.Ignore())

func TestMasterControlExit(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	tm := startMaster(t, MasterConfig{Dial: sshtestDialer(t, srv)})
	ctx := testContext(t)
	if got := runClient(ctx, t, tm.client, sshtestDest(t, srv), "exit 0", "", noAsker{}); got.status != 0 || got.err != nil {
		t.Fatalf("Run = %d, %v; want 0, nil", got.status, got.err)
	}
	if pid, _, err := tm.client.Control(ctx, "exit"); err != nil || pid != os.Getpid() {
		t.Fatalf("Control(exit) = %d, %v; want %d, nil", pid, err, os.Getpid())
	}
	if err := tm.wait(t); err != nil {
		t.Errorf("Serve after exit = %v, want nil", err)
	}
	if _, err := os.Lstat(tm.path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("control socket after exit: Lstat = %v, want it removed", err)
	}
	if _, _, err := tm.client.Control(ctx, "check"); !errors.Is(err, ErrMasterUnavailable) {
		t.Errorf("Control(check) after exit = %v, want ErrMasterUnavailable", err)
	}
}

func TestMasterStopFinishesRunningCommands(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	tm := startMaster(t, MasterConfig{Dial: sshtestDialer(t, srv)})
	d := sshtestDest(t, srv)
	ctx := testContext(t)

	var wg sync.WaitGroup
	var running clientResult
	wg.Go(func() { running = runClient(ctx, t, tm.client, d, "sleep 300ms", "", noAsker{}) })
	waitFor(t, "the command to start", func() bool { return len(srv.Execs()) == 1 })

	if pid, _, err := tm.client.Control(ctx, "stop"); err != nil || pid != os.Getpid() {
		t.Fatalf("Control(stop) = %d, %v; want %d, nil", pid, err, os.Getpid())
	}
	if _, _, err := tm.client.Control(ctx, "check"); !errors.Is(err, ErrMasterUnavailable) {
		t.Errorf("Control(check) after stop = %v, want ErrMasterUnavailable", err)
	}
	wg.Wait()
	if running.status != 0 || running.err != nil {
		t.Errorf("command running at stop = %d, %v; want 0, nil", running.status, running.err)
	}
	if err := tm.wait(t); err != nil {
		t.Errorf("Serve after stop = %v, want nil", err)
	}
}

func TestMasterExitsWhenIdle(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	tm := startMaster(t, MasterConfig{Dial: sshtestDialer(t, srv), Persist: 500 * time.Millisecond})
	// A command that runs for longer than the persist time keeps the
	// master: idle means no client at all.
	if got := runClient(testContext(t), t, tm.client, sshtestDest(t, srv), "sleep 1s", "", noAsker{}); got.status != 0 || got.err != nil || got.stderr != "" {
		t.Fatalf("Run of a command longer than the persist time = %+v; want 0, nil, no stderr", got)
	}
	select {
	case err := <-tm.done:
		t.Fatalf("the master exited (%v) as its last command ended; want it to wait the persist time", err)
	default:
	}
	if err := tm.wait(t); err != nil {
		t.Errorf("Serve after the persist time = %v, want nil", err)
	}
	if _, err := os.Lstat(tm.path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("control socket after idle exit: Lstat = %v, want it removed", err)
	}
}

func TestMasterClientCancelled(t *testing.T) {
	// One channel per connection: the next command runs on the same
	// connection only if the cancelled command's channel was closed.
	srv := sshtest.NewServer(t, sshtest.Options{MaxChannelsPerConn: 1})
	// No warm channel either: it would take the one slot between commands.
	tm := startMaster(t, MasterConfig{Dial: sshtestDialer(t, srv), Pool: PoolConfig{NoWarmChannels: true}})
	d := sshtestDest(t, srv)

	ctx, cancel := context.WithCancel(testContext(t))
	var wg sync.WaitGroup
	var got clientResult
	wg.Go(func() { got = runClient(ctx, t, tm.client, d, "sleep 60s", "", noAsker{}) })
	waitFor(t, "the command to start", func() bool { return len(srv.Execs()) == 1 })
	cancel()
	wg.Wait()
	if got.status != ExitStatusLost || !errors.Is(got.err, context.Canceled) {
		t.Fatalf("cancelled Run = %d, %v; want %d, context.Canceled", got.status, got.err, ExitStatusLost)
	}
	waitFor(t, "the master to finish the cancelled command", func() bool { return tm.Status().Clients == 0 })

	next := runClient(testContext(t), t, tm.client, d, "echo next", "", noAsker{})
	if next.status != 0 || next.err != nil || next.stdout != "next\n" {
		t.Fatalf("Run after a cancelled one = %d, %v, %q; want 0, nil, %q", next.status, next.err, next.stdout, "next\n")
	}
	if a, r := srv.Accepted(), srv.Refused(); a != 1 || r != 0 {
		t.Errorf("server accepted %d connections and refused %d channels; want 1 and 0 (the cancelled channel was left open)", a, r)
	}
}

// scriptedAsker answers every question with answer (or err) and records
// the questions.
type scriptedAsker struct {
	answer string
	err    error

	mu      sync.Mutex
	secrets []string
}

func (a *scriptedAsker) Secret(p string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.secrets = append(a.secrets, p)
	return a.answer, a.err
}

func (a *scriptedAsker) Confirm(string) (string, error) { return "", errors.New("unexpected question") }

func TestMasterRelaysPrompts(t *testing.T) {
	tests := []struct {
		name       string
		asker      *scriptedAsker
		wantStatus int
	}{
		{name: "right answer", asker: &scriptedAsker{answer: "s3cret"}, wantStatus: 0},
		{name: "wrong answer", asker: &scriptedAsker{answer: "guess"}, wantStatus: ExitStatusLost},
		{name: "no answer", asker: &scriptedAsker{err: errors.New("no terminal")}, wantStatus: ExitStatusLost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := sshtest.NewServer(t, sshtest.Options{})
			dialReal := sshtestDialer(t, srv)
			dialFn := func(ctx context.Context, d config.Destination, opts dial.Options) (*ssh.Client, error) {
				if opts.Prompter == nil {
					return nil, errors.New("no prompter")
				}
				pw, err := opts.Prompter.Secret("pw: ")
				if err != nil || pw != "s3cret" {
					return nil, &dial.AuthError{User: d.User, Host: d.HostName, Methods: []string{"password"}}
				}
				return dialReal(ctx, d, opts)
			}
			tm := startMaster(t, MasterConfig{Dial: dialFn})
			got := runClient(testContext(t), t, tm.client, sshtestDest(t, srv), "echo in", "", tt.asker)
			if got.status != tt.wantStatus || got.err != nil {
				t.Errorf("Run = %d, %v (stderr %q); want %d, nil", got.status, got.err, got.stderr, tt.wantStatus)
			}
			if diff := cmp.Diff([]string{"pw: "}, tt.asker.secrets); diff != "" {
				t.Errorf("questions asked mismatch (-want +got):\n%s", diff)
			}
			if tt.wantStatus != 0 && !strings.Contains(got.stderr, "Permission denied") {
				t.Errorf("stderr = %q; want the dial's error reported", got.stderr)
			}
		})
	}
}

// fakeMaster listens on a fresh control socket and serves each
// connection with serve, until the test ends.
func fakeMaster(t *testing.T, serve func(net.Conn)) (path string) {
	t.Helper()
	path = filepath.Join(shortTempDir(t), "s")
	ln, err := listenControl(path)
	if err != nil {
		t.Fatal(err)
	}
	sshtest.Serve(t, ln, serve)
	return path
}

// fakeOldMaster serves a control socket as a master of protocol version
// protocolVersion+1 would: it answers a hello with its own and a control
// request with an OK reply, and records the control commands it got.
func fakeOldMaster(t *testing.T) (path string, commands func() []string) {
	t.Helper()
	var mu sync.Mutex
	var got []string
	path = fakeMaster(t, func(c net.Conn) {
		cc := newControlConn(c)
		defer cc.close()
		if cc.writeMsg(msgHello, hello{Version: protocolVersion + 1, Program: "gitssh old"}) != nil {
			return
		}
		if _, _, _, err := cc.readMsg(); err != nil { // the client's hello
			return
		}
		typ, body, files, err := cc.readMsg()
		dropFiles(files)
		if err != nil || typ != msgControl {
			return
		}
		var req controlReq
		json.Unmarshal(body, &req)
		mu.Lock()
		got = append(got, req.Command)
		mu.Unlock()
		// What a master of protocol version 1 answers.
		cc.writeMsg(msgControlReply, json.RawMessage(`{"ok":true,"text":"Stop listening request sent."}`))
	})
	return path, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

func TestClientVersionMismatch(t *testing.T) {
	path, commands := fakeOldMaster(t)
	c := Client{SocketPath: path, Version: "gitssh new"}
	ctx := testContext(t)
	d := config.Destination{Alias: "example", HostName: "example.com", Port: 22, User: "git"}

	got := runClient(ctx, t, c, d, "exit 0", "", noAsker{})
	mismatch, ok := errors.AsType[*VersionMismatchError](got.err)
	if !ok || got.status != ExitStatusLost {
		t.Fatalf("Run against a master of another version = %d, %v; want %d, *VersionMismatchError", got.status, got.err, ExitStatusLost)
	}
	if diff := cmp.Diff(VersionMismatchError{Ours: protocolVersion, Theirs: protocolVersion + 1}, *mismatch); diff != "" {
		t.Errorf("VersionMismatchError mismatch (-want +got):\n%s", diff)
	}
	if _, _, err := c.Control(ctx, "stop"); err != nil {
		t.Errorf("Control(stop) on a master of another version = %v, want nil", err)
	}
	if diff := cmp.Diff([]string{"stop"}, commands()); diff != "" {
		t.Errorf("commands the old master got mismatch (-want +got):\n%s", diff)
	}
}

// TestMasterRunsNothingForAnotherProgram: a client of the same protocol
// but another build sees the master's program differ and runs its command
// elsewhere; a run such a client sends without waiting for the master's
// hello is not run by the master either.
func TestMasterRunsNothingForAnotherProgram(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	tm := startMaster(t, MasterConfig{Dial: sshtestDialer(t, srv), Version: "gitssh old"})
	ctx := testContext(t)
	d := sshtestDest(t, srv)
	for _, relay := range []bool{false, true} {
		c := Client{SocketPath: tm.path, Version: "gitssh new", Relay: relay}
		got := runClient(ctx, t, c, d, "touch twice", "", noAsker{})
		mismatch, ok := errors.AsType[*VersionMismatchError](got.err)
		if !ok || got.status != ExitStatusLost {
			t.Fatalf("relay=%v: Run against a master of another program = %d, %v; want %d, *VersionMismatchError", relay, got.status, got.err, ExitStatusLost)
		}
		if mismatch.TheirsProgram != "gitssh old" {
			t.Errorf("relay=%v: mismatch names the master's program %q, want %q", relay, mismatch.TheirsProgram, "gitssh old")
		}
	}
	// A client that stays connected after the mismatch does not get its
	// command run either (the master does not count on its leaving).
	uc, err := dialControl(ctx, tm.path)
	if err != nil {
		t.Fatal(err)
	}
	cc := newControlConn(uc)
	defer cc.close()
	inR, _ := pipe(t)
	_, outW := pipe(t)
	_, errW := pipe(t)
	if err := cc.writeMsg(msgHello, hello{Version: protocolVersion, Program: "gitssh new"}); err != nil {
		t.Fatal(err)
	}
	if err := cc.writeMsg(msgRun, Request{Dest: d, Command: "touch stayed"}, inR, outW, errW); err != nil {
		t.Fatal(err)
	}
	cc.setDeadline(time.Now().Add(testTimeout))
	if typ, _, _, err := cc.readMsg(); err != nil || typ != msgHello {
		t.Fatalf("master's hello = %v, %v", typ, err)
	}
	if typ, _, _, err := cc.readMsg(); err == nil {
		t.Errorf("master answered a run from another program with %v; want the connection closed", typ)
	}
	// The master is still there for its own clients.
	if got := runClient(ctx, t, tm.client, d, "echo own", "", noAsker{}); got.status != 0 || got.err != nil {
		t.Fatalf("command of the master's own version = %+v", got)
	}
	if execs := execsOf(srv); !slices.Equal(execs, []string{"echo own"}) {
		t.Errorf("server ran %q; want only %q", execs, "echo own")
	}
}

func TestMasterAnswersOnlyControlAfterVersionMismatch(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	tm := startMaster(t, MasterConfig{Dial: sshtestDialer(t, srv)})
	ctx := testContext(t)

	// connectAsNewer connects and says hello as a client of the next
	// protocol version, and returns the master's hello.
	connectAsNewer := func(t *testing.T) (*controlConn, hello) {
		t.Helper()
		uc, err := dialControl(ctx, tm.path)
		if err != nil {
			t.Fatal(err)
		}
		cc := newControlConn(uc)
		t.Cleanup(func() { cc.close() })
		if err := cc.writeMsg(msgHello, hello{Version: protocolVersion + 1, Program: "gitssh newer"}); err != nil {
			t.Fatal(err)
		}
		typ, body, _, err := cc.readMsg()
		if err != nil || typ != msgHello {
			t.Fatalf("master's hello = %v, %v", typ, err)
		}
		var h hello
		if err := json.Unmarshal(body, &h); err != nil {
			t.Fatal(err)
		}
		return cc, h
	}

	t.Run("run is refused", func(t *testing.T) {
		cc, h := connectAsNewer(t)
		if h.Version != protocolVersion {
			t.Errorf("master's hello version = %d, want %d", h.Version, protocolVersion)
		}
		inR, inW := pipe(t)
		outR, outW := pipe(t)
		errR, errW := pipe(t)
		req := Request{Dest: sshtestDest(t, srv), Command: "exit 0"}
		if err := cc.writeMsg(msgRun, req, inR, outW, errW); err != nil {
			t.Fatal(err)
		}
		cc.conn.SetReadDeadline(time.Now().Add(testTimeout))
		if typ, _, _, err := cc.readMsg(); err == nil {
			t.Errorf("master answered a run after a version mismatch with %v; want the connection closed", typ)
		}
		// The master closed the descriptors it got.
		inW.Close()
		outW.Close()
		errW.Close()
		wantClosedWriter(t, outR)
		wantClosedWriter(t, errR)
		if n := len(srv.Execs()); n != 0 {
			t.Errorf("server ran %d commands, want 0", n)
		}
	})

	t.Run("stop is obeyed", func(t *testing.T) {
		cc, _ := connectAsNewer(t)
		if err := cc.writeMsg(msgControl, controlReq{Command: "stop"}); err != nil {
			t.Fatal(err)
		}
		cc.conn.SetReadDeadline(time.Now().Add(testTimeout))
		typ, body, _, err := cc.readMsg()
		if err != nil || typ != msgControlReply {
			t.Fatalf("reply to stop = %v, %v; want a control-reply", typ, err)
		}
		var reply controlReply
		if err := json.Unmarshal(body, &reply); err != nil || !reply.OK {
			t.Errorf("reply to stop = %s, %v; want ok", body, err)
		}
		if err := tm.wait(t); err != nil {
			t.Errorf("Serve after stop = %v, want nil", err)
		}
	})
}

// firstAsker is the user of the client whose command starts the dial: it
// says when it is asked, then answers with an error once release is
// closed.
type firstAsker struct {
	asked   chan struct{} // closed at the first question
	release <-chan struct{}
	err     error
	once    sync.Once
}

func (a *firstAsker) Secret(string) (string, error) {
	a.once.Do(func() { close(a.asked) })
	select {
	case <-a.release:
	case <-time.After(testTimeout):
	}
	return "", a.err
}

func (a *firstAsker) Confirm(p string) (string, error) { return a.Secret(p) }

// TestMasterPromptingClientGone: the client whose command started a dial
// goes away while the dial asks it for a password, or its user gives up
// the question. Another client waiting for the same connection must not
// fail because of that: it is asked itself, as a separate ssh would be.
func TestMasterPromptingClientGone(t *testing.T) {
	tests := []struct {
		name string
		// interrupted: the first client is cancelled, and its asker
		// returns only after the dial has failed (so no answer reaches
		// the master). Otherwise its user gives up: the master gets an
		// error answer while the client is still connected.
		interrupted bool
	}{
		{name: "client interrupted", interrupted: true},
		{name: "user gave up the question"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := sshtest.NewServer(t, sshtest.Options{})
			dialReal := sshtestDialer(t, srv)
			dialFailed := make(chan struct{})
			var failOnce sync.Once
			dialFn := func(ctx context.Context, d config.Destination, opts dial.Options) (*ssh.Client, error) {
				pw, err := opts.Prompter.Secret("pw: ")
				if err != nil {
					failOnce.Do(func() { close(dialFailed) })
					return nil, fmt.Errorf("read password: %w", err)
				}
				if pw != "s3cret" {
					return nil, &dial.AuthError{User: d.User, Host: d.HostName, Methods: []string{"password"}}
				}
				return dialReal(ctx, d, opts)
			}
			tm := startMaster(t, MasterConfig{Dial: dialFn})
			d := sshtestDest(t, srv)

			ctx1, cancel1 := context.WithCancel(testContext(t))
			giveUp := make(chan struct{})
			first := &firstAsker{asked: make(chan struct{}), release: giveUp, err: errors.New("interrupted")}
			if tt.interrupted {
				first.release, first.err = dialFailed, context.Canceled
			}
			var wg sync.WaitGroup
			wg.Go(func() { runClient(ctx1, t, tm.client, d, "echo one", "", first) })
			t.Cleanup(func() { cancel1(); wg.Wait() })
			select {
			case <-first.asked:
			case <-time.After(testTimeout):
				t.Fatal("the first client was never asked")
			}

			second := &scriptedAsker{answer: "s3cret"}
			var got clientResult
			wg.Go(func() { got = runClient(testContext(t), t, tm.client, d, "echo two", "", second) })
			// A dial waiting for the first client's answer carries no one
			// else: the second command dials on its own at once.
			waitFor(t, "the second command to dial", func() bool {
				tm.mu.Lock()
				p := tm.pools[d.PoolKey("")]
				tm.mu.Unlock()
				p.mu.Lock()
				defer p.mu.Unlock()
				return p.stats.Dials == 2
			})
			if tt.interrupted {
				cancel1()
			} else {
				close(giveUp)
			}
			wg.Wait()
			if got.status != 0 || got.err != nil || got.stdout != "two\n" {
				t.Errorf("second client = %d, %v, stdout %q, stderr %q; want 0, nil, %q", got.status, got.err, got.stdout, got.stderr, "two\n")
			}
			if diff := cmp.Diff([]string{"pw: "}, second.secrets); diff != "" {
				t.Errorf("questions to the second client mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestClientCancelledDuringPrompt: a client interrupted while its user is
// being asked returns the context's error, as when interrupted at any other
// point, not ErrMasterLost (which the gitssh command reports as a failure).
func TestClientCancelledDuringPrompt(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	promptFailed := make(chan struct{})
	var once sync.Once
	dialFn := func(ctx context.Context, d config.Destination, opts dial.Options) (*ssh.Client, error) {
		if _, err := opts.Prompter.Secret("pw: "); err != nil {
			once.Do(func() { close(promptFailed) })
			return nil, err
		}
		return nil, errors.New("unexpected answer")
	}
	tm := startMaster(t, MasterConfig{Dial: dialFn})

	ctx, cancel := context.WithCancel(testContext(t))
	asker := &lateAsker{ctx: ctx, asked: make(chan struct{}), after: promptFailed}
	var wg sync.WaitGroup
	var got clientResult
	wg.Go(func() { got = runClient(ctx, t, tm.client, sshtestDest(t, srv), "exit 0", "", asker) })
	<-asker.asked
	cancel()
	wg.Wait()
	if got.status != ExitStatusLost || !errors.Is(got.err, context.Canceled) {
		t.Errorf("Run cancelled during a prompt = %d, %v; want %d, context.Canceled", got.status, got.err, ExitStatusLost)
	}
}

// lateAsker answers once ctx is done and after is closed: the user gave
// up, and the master has noticed the client is gone.
type lateAsker struct {
	ctx   context.Context
	asked chan struct{}
	after <-chan struct{}
}

func (a *lateAsker) Secret(string) (string, error) {
	close(a.asked)
	<-a.ctx.Done()
	select {
	case <-a.after:
	case <-time.After(testTimeout):
	}
	return "", a.ctx.Err()
}

func (a *lateAsker) Confirm(p string) (string, error) { return a.Secret(p) }

// TestMasterExitingHandsBackUnstartedCommands: a command still waiting for a
// connection when the master exits was never started, and the client is
// told so (ErrMasterUnavailable), so that it runs the command elsewhere
// instead of failing it.
func TestMasterExitingHandsBackUnstartedCommands(t *testing.T) {
	dialing := make(chan struct{})
	dialFn := func(ctx context.Context, d config.Destination, opts dial.Options) (*ssh.Client, error) {
		close(dialing)
		<-ctx.Done() // the master's context: never connects
		return nil, ctx.Err()
	}
	tm := startMaster(t, MasterConfig{Dial: dialFn})
	d := config.Destination{Alias: "nowhere", HostName: "nowhere", User: "git"}
	var got clientResult
	var wg sync.WaitGroup
	wg.Go(func() { got = runClient(testContext(t), t, tm.client, d, "echo hi", "", &scriptedAsker{}) })
	select {
	case <-dialing:
	case <-time.After(testTimeout):
		t.Fatal("the master never dialled")
	}
	if _, _, err := tm.client.Control(testContext(t), "exit"); err != nil {
		t.Fatalf("Control(exit) = %v", err)
	}
	wg.Wait()
	if !errors.Is(got.err, ErrMasterUnavailable) {
		t.Errorf("Run while the master exits = %d, %v; want ErrMasterUnavailable (the command never started)", got.status, got.err)
	}
	if got.stderr != "" {
		t.Errorf("stderr = %q, want nothing: the client runs the command elsewhere", got.stderr)
	}
}
