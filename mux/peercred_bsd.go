//go:build darwin || freebsd

package mux

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// xucredVersion is XUCRED_VERSION from <sys/ucred.h>, the only layout of
// struct xucred that unix.Xucred describes.
const xucredVersion = 0

// peerUID returns the uid of the process at the other end of c, as the
// kernel recorded it when the connection was made (LOCAL_PEERCRED, what
// getpeereid uses; macOS and FreeBSD share the option and struct xucred).
// On error the uid is -1, never a valid one.
//
// OpenBSD (SO_PEERCRED with struct sockpeercred) and NetBSD
// (LOCAL_PEEREID with struct unpcbid) have their own, which x/sys/unix has
// no getter for: they get peercred_other.go's refusal.
func peerUID(c *net.UnixConn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1, fmt.Errorf("peer credentials: %w", err)
	}
	var cred *unix.Xucred
	var credErr error
	err = rc.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	})
	if err == nil {
		err = credErr
	}
	if err != nil {
		return -1, fmt.Errorf("peer credentials: getsockopt LOCAL_PEERCRED: %w", err)
	}
	if cred.Version != xucredVersion {
		return -1, fmt.Errorf("peer credentials: xucred version %d, want %d", cred.Version, xucredVersion)
	}
	return int(cred.Uid), nil
}

// peerCredsSupported says whether peerUID works here.
const peerCredsSupported = true
