package mux

// These run on Windows only; here they are cross-compiled and vetted.

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gitssh/gitssh/internal/sshtest"
)

func TestPipeListenDial(t *testing.T) {
	path := filepath.Join(t.TempDir(), socketName)
	ln, err := listenControl(path)
	if err != nil {
		t.Fatalf("listenControl: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	if _, err := listenControl(path); !errors.Is(err, ErrMasterRunning) {
		t.Errorf("second listenControl = %v, want ErrMasterRunning", err)
	}

	l := sshtest.Serve(t, ln, func(c net.Conn) {
		if err := checkPeer(c); err != nil {
			t.Errorf("checkPeer: %v", err)
		}
		c.Write([]byte("ok"))
	})

	// A burst bigger than the pipe has instances: the dials that meet
	// ERROR_PIPE_BUSY wait for the next instance.
	const burst = 32
	var dials sync.WaitGroup
	for range burst {
		dials.Go(func() {
			c, err := dialControl(context.Background(), path)
			if err != nil {
				t.Errorf("dialControl: %v", err)
				return
			}
			defer c.Close()
			if b, err := io.ReadAll(c); err != nil || string(b) != "ok" {
				t.Errorf("read %q, %v; want ok", b, err)
			}
		})
	}
	dials.Wait()
	l.Close()
}

func TestPrivateDirWindows(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gitssh")
	if err := privateDir(dir, -1); err != nil {
		t.Fatalf("privateDir(new) = %v", err)
	}
	if err := privateDir(dir, -1); err != nil {
		t.Fatalf("privateDir(existing) = %v", err)
	}
}
