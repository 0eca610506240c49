//go:build unix

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/gitssh/gitssh/mux"
	"golang.org/x/sys/unix"
)

// tryLock takes an exclusive flock on f without waiting: busy is true
// when another process holds it.
func tryLock(f *os.File) (busy bool, err error) {
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	return errors.Is(err, unix.EWOULDBLOCK), err
}

func unlock(f *os.File) { unix.Flock(int(f.Fd()), unix.LOCK_UN) }

// startDetached starts the master in a session of its own (so it is in no
// process group of git's, and has no controlling terminal), in /, holding
// none of this process's descriptors but its stdio and the ready pipe, its
// descriptor 3; then it waits for "ready" on that pipe.
func startDetached(ctx context.Context, u *ui, cmd *exec.Cmd, _ mux.Client, logPath string) error {
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer readyR.Close()

	// The master must hold none of git's descriptors (git reads our stdout
	// and stderr until EOF) and must not be in git's process group.
	markCloseOnExec()
	cmd.ExtraFiles = []*os.File{readyW}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	readyW.Close()
	if err != nil {
		return fmt.Errorf("start master: %w", err)
	}
	u.Debugf("started master pid %d", cmd.Process.Pid)
	go cmd.Wait() // reaps it if it dies before we exit; it outlives us otherwise

	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(readyR).ReadString('\n')
		if line == "ready\n" {
			ready <- nil
			return
		}
		if err == nil || errors.Is(err, io.EOF) {
			err = fmt.Errorf("master did not start: %q (see %s)", line, logPath)
		}
		ready <- err
	}()
	select {
	case err := <-ready:
		return err
	case <-time.After(masterStartTimeout):
		return fmt.Errorf("master did not start within %v", masterStartTimeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// readySignal, in the master, returns what tells the client that started
// it that it listens: "ready" on descriptor 3, the pipe startDetached
// passed. The descriptor is taken now, before the master opens any of its
// own.
func readySignal() func() {
	ready := os.NewFile(3, "ready")
	return func() {
		if ready != nil {
			ready.WriteString("ready\n")
			ready.Close()
		}
	}
}

// markCloseOnExec sets close-on-exec on every descriptor above stderr, so
// that the master inherits none that git (or anything else) left open for
// us: Go sets it on its own, not on inherited ones. Where the system lists
// a process's descriptors (openFDDir) only those are marked; elsewhere
// every number up to the descriptor limit is.
func markCloseOnExec() {
	if dir := openFDDir(); dir != "" {
		if entries, err := os.ReadDir(dir); err == nil {
			for _, e := range entries {
				if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
					unix.CloseOnExec(fd)
				}
			}
			return
		}
	}
	limit := 1024
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil {
		if cur := uint64(rl.Cur); cur > uint64(limit) { // int64 on FreeBSD
			limit = int(min(cur, maxCloseOnExecScan))
		}
	}
	for fd := 3; fd < limit; fd++ {
		unix.CloseOnExec(fd)
	}
}

// maxCloseOnExecScan caps the descriptors markCloseOnExec tries one by one
// where they cannot be listed; a limit of "unlimited" would never end.
const maxCloseOnExecScan = 1 << 16

// openFDDir is the directory that lists this process's open descriptors:
// /proc/self/fd on Linux, /dev/fd on macOS. FreeBSD's /dev/fd shows only
// 0, 1 and 2 unless fdescfs is mounted, and the other BSDs' is as partial,
// so there none is trusted.
func openFDDir() string {
	switch runtime.GOOS {
	case "linux", "android":
		return "/proc/self/fd"
	case "darwin", "ios":
		return "/dev/fd"
	}
	return ""
}
