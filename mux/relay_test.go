//go:build unix

package mux

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gitssh/gitssh/config"
	"github.com/gitssh/gitssh/dial"
	"github.com/gitssh/gitssh/internal/sshtest"
	"golang.org/x/crypto/ssh"
)

// TestStreamWriterKeepsToItsWindow: a sender never has more bytes in
// flight than the window the receiver gave it, however much it is asked to
// write.
func TestStreamWriterKeepsToItsWindow(t *testing.T) {
	a, b := controlPair(t)
	window := newCredit(relayWindow)
	w := &streamWriter{cc: a, t: msgStdout, window: window}
	data := sshtest.Pattern(5*relayWindow + 123)
	done := make(chan error, 1)
	go func() {
		_, err := w.Write(data)
		done <- err
	}()
	granted := relayWindow
	var got []byte
	for len(got) < len(data) {
		typ, body, _, err := b.readMsg()
		if err != nil {
			t.Fatalf("readMsg after %d bytes: %v", len(got), err)
		}
		if typ != msgStdout || len(body) > relayChunk {
			t.Fatalf("frame %v of %d bytes; want stdout of at most %d", typ, len(body), relayChunk)
		}
		got = append(got, body...)
		if len(got) > granted {
			t.Fatalf("%d bytes sent with a window of %d", len(got), granted)
		}
		if len(got) == granted {
			// Consume half a window, as a slow reader would.
			window.give(relayWindow / 2)
			granted += relayWindow / 2
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("Write = %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Error("the bytes received differ from those written")
	}
}

func TestStreamBuffer(t *testing.T) {
	var acked []int
	s := newStreamBuffer(func(n int) { acked = append(acked, n) })
	if err := s.push(make([]byte, relayWindow)); err != nil {
		t.Fatalf("push of a whole window = %v", err)
	}
	if err := s.push([]byte{1}); !errors.Is(err, errRelayWindow) {
		t.Fatalf("push past the window = %v, want %v", err, errRelayWindow)
	}
	got, err := io.ReadAll(io.LimitReader(s, relayWindow))
	if err != nil || len(got) != relayWindow {
		t.Fatalf("read %d bytes, %v; want %d", len(got), err, relayWindow)
	}
	sum := 0
	for _, n := range acked {
		sum += n
		if n < relayAck {
			t.Errorf("window given back in %d bytes, want at least %d at a time", n, relayAck)
		}
	}
	if sum <= relayWindow-relayAck || sum > relayWindow {
		t.Errorf("window given back = %v (sum %d), want all but less than %d of %d", acked, sum, relayAck, relayWindow)
	}
	if err := s.push([]byte("after")); err != nil {
		t.Fatalf("push after the window came back = %v", err)
	}
	s.push(nil)
	if rest, err := io.ReadAll(s); err != nil || string(rest) != "after" {
		t.Errorf("read to the end = %q, %v; want %q, nil", rest, err, "after")
	}
}

// TestHelloTimeout: a master that accepts but never answers (stopped,
// wedged) is ErrMasterUnavailable, within the hello timeout, and nothing
// is sent to it but the hello.
func TestHelloTimeout(t *testing.T) {
	gone := make(chan []byte, 1)
	path := fakeMaster(t, func(c net.Conn) {
		b, _ := io.ReadAll(c) // never answers
		gone <- b
	})
	c := Client{SocketPath: path, Version: "v", HelloTimeout: 200 * time.Millisecond}
	d := config.Destination{Alias: "example", HostName: "example.com", Port: 22}
	got := runClient(testContext(t), t, c, d, "exit 0", "", noAsker{})
	if !errors.Is(got.err, ErrMasterUnavailable) {
		t.Fatalf("Run against a silent master = %d, %v; want ErrMasterUnavailable", got.status, got.err)
	}
	received := <-gone // the client closed its connection
	if typ, _, n, _ := readFrame(received); n != len(received) || typ != msgHello {
		t.Errorf("the silent master received %q; want only a hello", received)
	}
}

// TestCancelledCommandNeverRuns: a client that gives up while its command
// waits for a connection (a slow dial, a prompt, a stopped master) does not
// find it run afterwards.
func TestCancelledCommandNeverRuns(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	dialing := make(chan struct{})
	release := make(chan struct{})
	real := sshtestDialer(t, srv)
	var once sync.Once
	tm := startMaster(t, MasterConfig{Dial: func(ctx context.Context, d config.Destination, opts dial.Options) (*ssh.Client, error) {
		once.Do(func() { close(dialing) })
		<-release
		return real(ctx, d, opts)
	}})
	d := sshtestDest(t, srv)
	for _, relay := range []bool{false, true} {
		c := tm.client
		c.Relay = relay
		ctx, cancel := context.WithCancel(testContext(t))
		done := make(chan clientResult, 1)
		go func() { done <- runClient(ctx, t, c, d, "touch given-up", "", noAsker{}) }()
		if relay {
			cancel() // the dial is already waiting: cancel at once
		} else {
			<-dialing
			cancel()
		}
		if got := <-done; got.status != ExitStatusLost || !errors.Is(got.err, context.Canceled) {
			t.Errorf("relay=%v: cancelled Run = %d, %v; want %d, context.Canceled", relay, got.status, got.err, ExitStatusLost)
		}
	}
	close(release)
	// A later command runs on the connection the given-up one asked for.
	if got := runClient(testContext(t), t, tm.client, d, "echo later", "", noAsker{}); got.status != 0 {
		t.Fatalf("later command = %+v", got)
	}
	for _, line := range execsOf(srv) {
		if line == "touch given-up" {
			t.Errorf("the server ran %q, which its client had given up on; ran %q", line, execsOf(srv))
		}
	}
}

// TestPeerGone tells a client that closed its end from one that is still
// there, with or without bytes waiting, without consuming anything.
func TestPeerGone(t *testing.T) {
	a, b := connPair(t)
	if peerGone(a) {
		t.Error("peerGone with the peer connected = true")
	}
	b.Write([]byte("x"))
	if peerGone(a) {
		t.Error("peerGone with a byte waiting = true")
	}
	var buf [1]byte
	if n, err := a.Read(buf[:]); n != 1 || err != nil {
		t.Fatalf("read after peerGone = %d, %v; want the byte it left", n, err)
	}
	b.Close()
	if !peerGone(a) {
		t.Error("peerGone after the peer closed = false")
	}
}

// TestAbandonedCommandNotStarted: once the channel is open, a command
// whose client has gone is not sent to the server.
func TestAbandonedCommandNotStarted(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	c := sessionConn(t, srv)
	status, err := runSession(testContext(t), c, Command{Line: "touch given-up", mayStart: func() bool { return false }})
	if status != ExitStatusLost || !errors.Is(err, errAbandoned) {
		t.Errorf("runSession = %d, %v; want %d, %v", status, err, ExitStatusLost, errAbandoned)
	}
	if execs := execsOf(srv); len(execs) != 0 {
		t.Errorf("server ran %q, want nothing", execs)
	}
}
