//go:build !unix

package mux

// Platforms without Unix-socket descriptor passing have no master: the
// gitssh command runs in direct mode there.

import (
	"fmt"
	"os"
	"runtime"
)

func oobSpace(int) int { return 0 }

func rightsOOB([]*os.File) ([]byte, error) {
	return nil, fmt.Errorf("pass file descriptors on %s: %w", runtime.GOOS, ErrNotImplemented)
}

func parseRights([]byte, int) ([]int, error) {
	return nil, fmt.Errorf("receive file descriptors on %s: %w", runtime.GOOS, ErrNotImplemented)
}

// canPassFDs says descriptors cannot travel here: clients relay their
// stdio over the control connection.
const canPassFDs = false
