//go:build unix

package testworld

import "syscall"

// newSessionAttr starts a process in a session of its own, so that it
// outlives the test process's process group.
func newSessionAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

func processAlive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	return !isZombie(pid)
}
