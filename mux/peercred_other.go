//go:build !linux && !darwin && !freebsd

package mux

import (
	"fmt"
	"net"
	"runtime"
)

// peerUID is not implemented here, so a master refuses every client: an
// unchecked peer is never taken for the user.
func peerUID(*net.UnixConn) (int, error) {
	return -1, fmt.Errorf("peer credentials on %s: %w", runtime.GOOS, ErrNotImplemented)
}

// peerCredsSupported says whether peerUID works here.
const peerCredsSupported = false
