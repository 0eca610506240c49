//go:build unix

package testworld

import "syscall"

// newSessionAttr starts a process in a session of its own, so that it
// outlives the test process's process group.
func newSessionAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

// Running reports whether process pid exists and has not exited: a zombie
// that a non-reaping init has not waited for is not running.
func Running(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	return !isZombie(pid)
}
