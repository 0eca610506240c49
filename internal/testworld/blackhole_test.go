package testworld

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestBlackhole(t *testing.T) {
	echo := newEchoServer(t)
	b, err := StartBlackhole(echo.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })

	old := dialT(t, b.Addr())
	if got, err := roundTrip(old, "before", 5*time.Second); err != nil || got != "before" {
		t.Fatalf("round trip before = %q, %v", got, err)
	}

	b.SetBlackhole(true)
	// Nothing gets through, and nothing is closed: the read times out
	// instead of ending in EOF or a reset.
	if got, err := roundTrip(old, "during", 300*time.Millisecond); !isTimeout(err) {
		t.Fatalf("round trip on a blackholed connection = %q, %v; want a timeout", got, err)
	}
	held := dialT(t, b.Addr()) // accepted, never forwarded
	if got, err := roundTrip(held, "new during", 300*time.Millisecond); !isTimeout(err) {
		t.Fatalf("round trip on a connection opened while on = %q, %v; want a timeout", got, err)
	}

	b.SetBlackhole(false)
	fresh := dialT(t, b.Addr())
	if got, err := roundTrip(fresh, "after", 5*time.Second); err != nil || got != "after" {
		t.Fatalf("round trip on a new connection after off = %q, %v", got, err)
	}
	// The connections that died stay dead.
	if got, err := roundTrip(old, "still dead", 300*time.Millisecond); !isTimeout(err) {
		t.Fatalf("round trip on the old connection after off = %q, %v; want a timeout", got, err)
	}
	if got, want := strings.Join(echo.Received(), ","), "before,after"; got != want {
		t.Errorf("backend received %q, want %q", got, want)
	}
	if got, want := echo.Connections(), 2; got != want {
		t.Errorf("backend saw %d connections, want %d", got, want)
	}
	if got, want := b.Accepted(), 3; got != want {
		t.Errorf("Accepted() = %d, want %d", got, want)
	}

	// Close ends every connection, dead ones included, and waits for its
	// goroutines.
	done := make(chan error, 1)
	go func() { done <- b.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	for _, c := range []net.Conn{old, held, fresh} {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadAll(c); err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
			t.Errorf("read after Close = %v, want EOF", err)
		}
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

// TestBlackholeHalfClose: a client that ends its side still gets the
// server's answer (a proxy passes the FIN on).
func TestBlackholeHalfClose(t *testing.T) {
	echo := newEchoServer(t)
	b, err := StartBlackhole(echo.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	c := dialT(t, b.Addr())
	if _, err := c.Write([]byte("one\ntwo\n")); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "one\ntwo\n" {
		t.Fatalf("ReadAll = %q, %v", got, err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}
