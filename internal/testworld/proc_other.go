//go:build unix && !linux

package testworld

import (
	"errors"
	"syscall"
)

// killTree kills pid. Without /proc it cannot find the connections sshd
// forked; they end when their clients disconnect.
func killTree(pid int) {
	syscall.Kill(pid, syscall.SIGKILL)
}

func isZombie(pid int) bool { return false }

// KillMentioning needs /proc; elsewhere it returns errors.ErrUnsupported.
func KillMentioning(s string) ([]string, error) {
	return nil, errors.ErrUnsupported
}

func descendants(pid int) []int { return nil }
