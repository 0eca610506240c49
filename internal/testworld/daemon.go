package testworld

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// daemon is one long-running server process started in the foreground,
// with its stdout and stderr appended to a log file: the plumbing the
// non-OpenSSH servers share (start, readiness, stop, log tail).
type daemon struct {
	name string // for messages: "dropbear"
	log  string // the log file

	mu     sync.Mutex    // guards the fields that follow
	cmd    *exec.Cmd     // nil when stopped
	exited chan struct{} // closed when cmd has been waited for
}

// start runs cmd (its Stdout and Stderr are set here) and waits until
// ready reports nil, the process exits, or timeout passes. On failure the
// process is stopped and the error ends with the tail of the log.
func (d *daemon) start(cmd *exec.Cmd, timeout time.Duration, ready func(deadline time.Time) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd != nil {
		return fmt.Errorf("testworld: %s is already running", d.name)
	}
	out, err := os.OpenFile(d.log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close() // the child has its own copy
	logStart := fileSize(d.log)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testworld: start %s: %w", d.name, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	d.cmd, d.exited = cmd, exited

	deadline := time.Now().Add(timeout)
	var lastErr error
	for delay := 5 * time.Millisecond; ; delay = min(2*delay, 200*time.Millisecond) {
		select {
		case <-exited:
			lastErr = fmt.Errorf("%s exited during startup (%v)", d.name, cmd.ProcessState)
		default:
			if time.Now().After(deadline) {
				lastErr = fmt.Errorf("not ready within %v: %v", timeout, lastErr)
			} else if lastErr = ready(deadline); lastErr == nil {
				return nil
			} else {
				time.Sleep(delay)
				continue
			}
		}
		d.stopLocked()
		tail := ""
		if data, err := os.ReadFile(d.log); err == nil && int64(len(data)) >= logStart {
			tail = lastLines(string(data[logStart:]), 30)
		}
		if strings.Contains(tail, "Address already in use") || strings.Contains(tail, "Address in use") {
			lastErr = fmt.Errorf("%w (%w)", lastErr, errAddrInUse)
		}
		return fmt.Errorf("testworld: %s: %w\n--- tail of %s ---\n%s", d.name, lastErr, d.log, tail)
	}
}

// stop kills the process and everything it started. It is idempotent.
func (d *daemon) stop() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stopLocked()
}

func (d *daemon) stopLocked() error {
	if d.cmd == nil {
		return nil
	}
	killTree(d.cmd.Process.Pid)
	var err error
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		err = fmt.Errorf("testworld: %s (pid %d) did not exit", d.name, d.cmd.Process.Pid)
	}
	d.cmd, d.exited = nil, nil
	return err
}

// pid returns the process id, or 0 when stopped.
func (d *daemon) pid() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil {
		return 0
	}
	return d.cmd.Process.Pid
}

// sshBanner connects to addr and requires an "SSH-2.0-" banner: a
// readiness check for SSH servers.
func sshBanner(addr string, deadline time.Time) error {
	c, err := net.DialTimeout("tcp", addr, time.Until(deadline))
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(deadline)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read banner: %w", err)
	}
	if !strings.HasPrefix(line, "SSH-2.0-") {
		return fmt.Errorf("unexpected banner %q", line)
	}
	return nil
}
