package testworld

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitssh/gitssh/internal/sshtest"
)

// echoServer is a line echo server on 127.0.0.1 that counts the
// connections it accepted, closed at cleanup.
type echoServer struct {
	l *sshtest.Listener

	mu    sync.Mutex // guards lines
	lines []string   // every line received, on any connection
}

func newEchoServer(t *testing.T) *echoServer {
	t.Helper()
	e := &echoServer{}
	e.l = sshtest.Listen(t, func(c net.Conn) {
		sc := bufio.NewScanner(c)
		for sc.Scan() {
			e.mu.Lock()
			e.lines = append(e.lines, sc.Text())
			e.mu.Unlock()
			if _, err := c.Write([]byte(sc.Text() + "\n")); err != nil {
				return
			}
		}
	})
	return e
}

func (e *echoServer) Addr() string { return e.l.Addr().String() }

func (e *echoServer) Connections() int { return e.l.Accepted() }

func (e *echoServer) Received() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.lines...)
}

func dialT(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip sends line on c and reads one line back within d.
func roundTrip(c net.Conn, line string, d time.Duration) (string, error) {
	c.SetDeadline(time.Now().Add(d))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write([]byte(line + "\n")); err != nil {
		return "", err
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSuffix(got, "\n"), err
}

func TestHAProxyForwardsAndCutsIdleConnections(t *testing.T) {
	RequireTools(t, "haproxy")
	echo := newEchoServer(t)
	const timeout = 300 * time.Millisecond
	h, err := StartHAProxy(t.TempDir(), HAProxyOptions{Backend: echo.Addr(), TimeoutClient: timeout, TimeoutServer: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Stop(); err != nil {
			t.Error(err)
		}
	})
	// Readiness goes through the stats socket: the backend has seen nothing.
	if n := echo.Connections(); n != 0 {
		t.Errorf("backend saw %d connections after start, want 0", n)
	}
	cfg, err := os.ReadFile(h.ConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"mode tcp\n", "timeout client 300ms\n", "timeout server 300ms\n", "bind " + h.Addr() + "\n"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("haproxy.cfg lacks %q:\n%s", want, cfg)
		}
	}

	c := dialT(t, h.Addr())
	// Traffic more often than the timeout keeps the connection.
	for i := range 4 {
		if got, err := roundTrip(c, "hello", 5*time.Second); err != nil || got != "hello" {
			t.Fatalf("round trip %d = %q, %v", i, got, err)
		}
		time.Sleep(timeout / 2)
	}
	// Silence longer than the timeout ends it: EOF, not a read deadline.
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := c.Read(make([]byte, 1))
	if n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("idle read = %d, %v; want EOF from HAProxy's timeout", n, err)
	}
	if d := time.Since(start); d < timeout/2 {
		t.Errorf("closed after %v, before the %v timeout", d, timeout)
	}
	// The log says why: a client- or server-side timeout in the data phase.
	deadline := time.Now().Add(5 * time.Second)
	for {
		log, _ := os.ReadFile(h.LogPath())
		if strings.Contains(string(log), " cD ") || strings.Contains(string(log), " sD ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy log has no timeout termination state:\n%s", log)
		}
		time.Sleep(20 * time.Millisecond)
	}

	if err := h.Stop(); err != nil {
		t.Fatal(err)
	}
	if h.Pid() != 0 {
		t.Errorf("Pid() = %d after Stop", h.Pid())
	}
	if c, err := net.DialTimeout("tcp", h.Addr(), time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts after Stop", h.Addr())
	}
	if err := h.Stop(); err != nil {
		t.Errorf("second Stop = %v", err)
	}
}

func TestHAProxyStartFailureShowsLog(t *testing.T) {
	RequireTools(t, "haproxy")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	// The port is taken by a listener without SO_REUSEPORT: HAProxy
	// cannot bind it.
	h, err := StartHAProxy(t.TempDir(), HAProxyOptions{Backend: "127.0.0.1:1", Port: port})
	if err == nil {
		h.Stop()
		t.Fatal("StartHAProxy on a taken port succeeded")
	}
	if !strings.Contains(err.Error(), "tail of") || !strings.Contains(err.Error(), "bind") {
		t.Errorf("error does not show HAProxy's log:\n%v", err)
	}
	if _, err := StartHAProxy(t.TempDir(), HAProxyOptions{}); err == nil {
		t.Error("StartHAProxy without Backend succeeded")
	}
}
