package testworld

// The test world needs OpenSSH's sshd and a Unix process model; on Windows
// this package only compiles, so that the packages whose tests use it can
// be vetted there. Its processes cannot be found or signalled.

import (
	"errors"
	"os"
	"syscall"
)

func newSessionAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}

func isZombie(pid int) bool { return false }

// killTree kills pid only; its descendants are not found.
func killTree(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
}

// KillMentioning needs /proc; here it returns errors.ErrUnsupported.
func KillMentioning(s string) ([]string, error) {
	return nil, errors.ErrUnsupported
}

func descendants(pid int) []int { return nil }

// Running cannot tell here: it reports no process.
func Running(pid int) bool { return false }
