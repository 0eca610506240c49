package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/gitssh/gitssh/mux"
	"golang.org/x/sys/windows"
)

// tryLock locks the first byte of f (LockFileEx) without waiting: busy
// is true when another process holds it. Closing the file, or the process
// ending, releases it.
func tryLock(f *os.File) (busy bool, err error) {
	err = windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, new(windows.Overlapped))
	return errors.Is(err, windows.ERROR_LOCK_VIOLATION), err
}

func unlock(f *os.File) {
	windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, new(windows.Overlapped))
}

// detachFlags start the master with no console (so closing git's console
// window does not end it, and it cannot write to it) in a process group of
// its own (so the console's Ctrl-C does not reach it).
const detachFlags = windows.DETACHED_PROCESS | windows.CREATE_NEW_PROCESS_GROUP

// readyPollInterval is how often a starting master is asked whether it
// serves yet.
const readyPollInterval = 20 * time.Millisecond

// startDetached starts the master detached (detachFlags, no window) and
// also out of git's job object where the job allows it
// (CREATE_BREAKAWAY_FROM_JOB), so that a terminal or CI runner that ends
// its job's processes does not end the master with git. It inherits no
// handle but its stdio: Go passes only those (PROC_THREAD_ATTRIBUTE_HANDLE_LIST),
// and they are NUL and the log. Its working directory is the root of the
// log's volume.
//
// Windows cannot hand the master a ready pipe as a numbered descriptor, so
// readiness is seen by asking the master "check" until it answers, it
// exits, or masterStartTimeout passes.
func startDetached(ctx context.Context, u *ui, cmd *exec.Cmd, client mux.Client, logPath string) error {
	cmd.Dir = filepath.VolumeName(logPath) + `\`
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: detachFlags | windows.CREATE_BREAKAWAY_FROM_JOB, HideWindow: true}
	err := cmd.Start()
	if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		// A job that forbids breaking away: start the master in it.
		cmd = cloneCmd(cmd)
		cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: detachFlags, HideWindow: true}
		err = cmd.Start()
	}
	if err != nil {
		return fmt.Errorf("start master: %w", err)
	}
	u.Debugf("started master pid %d", cmd.Process.Pid)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	deadline := time.NewTimer(masterStartTimeout)
	defer deadline.Stop()
	for {
		if _, _, err := client.Control(ctx, "check"); err == nil {
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("master did not start: %v (see %s)", err, logPath)
		case <-deadline.C:
			return fmt.Errorf("master did not start within %v", masterStartTimeout)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(readyPollInterval):
		}
	}
}

// cloneCmd is an unstarted copy of cmd, for a second Start.
func cloneCmd(cmd *exec.Cmd) *exec.Cmd {
	c := exec.Command(cmd.Path)
	c.Args, c.Env, c.Dir = cmd.Args, cmd.Env, cmd.Dir
	c.Stdin, c.Stdout, c.Stderr = cmd.Stdin, cmd.Stdout, cmd.Stderr
	return c
}

// readySignal, in the master, returns what Serve calls once the master
// listens: nothing to send on Windows, where startDetached sees readiness
// by asking the master "check".
func readySignal() func() { return func() {} }
