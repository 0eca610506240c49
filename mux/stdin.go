//go:build unix

package mux

import (
	"errors"
	"io"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// passedStdin is a command's stdin received from a client. The copy to the
// server must be interruptible when the command ends, without ever putting a
// terminal into non-blocking mode (that would break the user's shell once
// gitssh exits): a pipe or socket is read through Go's poller, with O_NONBLOCK
// set for the command's duration only; a terminal, or anything else, is
// polled for readability before each read.
type passedStdin struct {
	f        *os.File
	fd       int
	pollable bool        // f is in non-blocking mode and in Go's poller
	stopped  atomic.Bool // SetReadDeadline was called: reads end
}

func newPassedStdin(f *os.File) *passedStdin {
	p := &passedStdin{f: f, fd: -1}
	raw, err := f.SyscallConn()
	if err != nil {
		return p
	}
	raw.Control(func(fd uintptr) { p.fd = int(fd) })
	if p.fd < 0 || isTerminal(p.fd) {
		return p
	}
	if st, err := f.Stat(); err != nil || st.Mode()&(os.ModeNamedPipe|os.ModeSocket) == 0 {
		return p
	}
	// Duplicate, so that os.NewFile sees a non-blocking descriptor and puts
	// it in the poller.
	dup, err := unix.FcntlInt(uintptr(p.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return p
	}
	if err := unix.SetNonblock(dup, true); err != nil {
		unix.Close(dup)
		return p
	}
	f.Close()
	p.f, p.fd, p.pollable = os.NewFile(uintptr(dup), "stdin"), dup, true
	return p
}

func (p *passedStdin) Read(b []byte) (int, error) {
	if p.pollable {
		return p.f.Read(b)
	}
	for {
		if p.stopped.Load() {
			return 0, os.ErrDeadlineExceeded
		}
		if p.fd < 0 {
			return p.f.Read(b)
		}
		fds := []unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 100)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return 0, err
		}
		if n > 0 {
			return p.f.Read(b)
		}
	}
}

// SetReadDeadline ends reads; runSession calls it when the command is over.
// Only a deadline in the past, and the zero time (reads go on), are
// meaningful here.
func (p *passedStdin) SetReadDeadline(t time.Time) error {
	if p.pollable {
		return p.f.SetReadDeadline(t)
	}
	switch {
	case t.IsZero():
		p.stopped.Store(false) // a command run again elsewhere reads on
	case !t.After(time.Now()):
		p.stopped.Store(true)
	}
	return nil
}

// Close restores blocking mode, which the client's own descriptor shares,
// and closes the descriptor.
func (p *passedStdin) Close() error {
	if p.pollable {
		if raw, err := p.f.SyscallConn(); err == nil {
			raw.Control(func(fd uintptr) { unix.SetNonblock(int(fd), false) })
		}
	}
	return p.f.Close()
}

var _ io.ReadCloser = (*passedStdin)(nil)
