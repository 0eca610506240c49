package testworld

import (
	"bytes"
	"crypto/rand"
	"io"
	"net"
	"testing"
	"time"

	"github.com/gitssh/gitssh/internal/sshtest"
)

// startCopyEcho starts a server that copies every connection back to
// itself and half-closes it at EOF.
func startCopyEcho(t *testing.T) string {
	t.Helper()
	return sshtest.Listen(t, func(c net.Conn) {
		io.Copy(c, c)
		c.(*net.TCPConn).CloseWrite()
	}).Addr().String()
}

func TestDelayProxyAddsLatencyAndKeepsOrder(t *testing.T) {
	const delay = 30 * time.Millisecond
	p, err := StartDelayProxy(startCopyEcho(t), delay)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })

	c, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))

	// One small round trip costs two delays.
	start := time.Now()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo = %q, %v", buf, err)
	}
	if rtt := time.Since(start); rtt < 2*delay || rtt > 2*delay+time.Second {
		t.Errorf("round trip took %v, want about %v", rtt, 2*delay)
	}

	// Many writes in a row arrive complete and in order, and the EOF is
	// passed on after them (not bandwidth-limited by the delay).
	want := make([]byte, 4<<20)
	rand.Read(want)
	go func() {
		for b := want; len(b) > 0; {
			n := min(len(b), 1000+len(b)%7000)
			if _, err := c.Write(b[:n]); err != nil {
				return
			}
			b = b[n:]
		}
		c.(*net.TCPConn).CloseWrite()
	}()
	start = time.Now()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, want %d, equal prefix %d", len(got), len(want), commonPrefix(got, want))
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("4 MiB took %v through the proxy", d)
	}
	if got := p.Accepted(); got != 1 {
		t.Errorf("Accepted() = %d, want 1", got)
	}
}

func TestDelayProxyCloseEndsConnections(t *testing.T) {
	p, err := StartDelayProxy(startCopyEcho(t), 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("x"))
	done := make(chan error, 1)
	go func() { done <- p.Close() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(c); err != nil && !isConnReset(err) {
		t.Errorf("read after Close = %v, want EOF", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func isConnReset(err error) bool {
	return err != nil && bytes.Contains([]byte(err.Error()), []byte("connection reset"))
}

func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
