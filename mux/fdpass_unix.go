//go:build unix

package mux

// The Unix half of the control socket: passing descriptors as SCM_RIGHTS
// and reading file ownership.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// oobSpace is the control-message buffer size for receiving n descriptors.
func oobSpace(n int) int { return unix.CmsgSpace(4 * n) }

// rightsOOB encodes files as an SCM_RIGHTS control message. It reads the
// descriptors without (*os.File).Fd, which would switch them to blocking
// mode: they are git's, shared with other processes, and not ours to change.
func rightsOOB(files []*os.File) ([]byte, error) {
	fds := make([]int, len(files))
	for i, f := range files {
		rc, err := f.SyscallConn()
		if err != nil {
			return nil, fmt.Errorf("pass %s: %w", f.Name(), err)
		}
		if err := rc.Control(func(fd uintptr) { fds[i] = int(fd) }); err != nil {
			return nil, fmt.Errorf("pass %s: %w", f.Name(), err)
		}
	}
	return unix.UnixRights(fds...), nil
}

// parseRights returns the descriptors in a received control message, each
// set close-on-exec (Go's ReadMsgUnix already asks for that where the
// system can do it atomically; this covers the rest). On error it still
// returns every descriptor it found, for the caller to close.
func parseRights(oob []byte, flags int) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("parse control message: %w", err)
	}
	var fds []int
	var errs []error
	for i := range msgs {
		if msgs[i].Header.Level != unix.SOL_SOCKET || msgs[i].Header.Type != unix.SCM_RIGHTS {
			continue
		}
		got, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			errs = append(errs, fmt.Errorf("parse descriptors: %w", err))
			continue
		}
		for _, fd := range got {
			unix.CloseOnExec(fd)
		}
		fds = append(fds, got...)
	}
	if flags&unix.MSG_CTRUNC != 0 {
		errs = append(errs, fmt.Errorf("%w: more than %d in one message", errUnexpectedFDs, maxRecvFDs))
	}
	return fds, errors.Join(errs...)
}

// fileOwner returns the uid that owns the file fi describes.
func fileOwner(fi fs.FileInfo) (int, error) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return -1, fmt.Errorf("owner of %s: no stat data", fi.Name())
	}
	return int(st.Uid), nil
}

// canPassFDs says descriptors can travel on Unix sockets here.
const canPassFDs = true
