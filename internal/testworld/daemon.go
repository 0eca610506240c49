package testworld

import (
	"bufio"
	"cmp"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// daemon is one long-running server process started in the foreground,
// with its stdout and stderr appended to a log file: the plumbing sshd,
// dropbear and HAProxy share (start, readiness, stop, log tail).
type daemon struct {
	name string // for messages: "dropbear"
	log  string // the log file
	out  string // where stdout and stderr go if not to log (sshd -E logs elsewhere)

	// stopped, if set, is called once the process has been waited for
	// (sshd removes its pid file).
	stopped func()

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
	out, err := os.OpenFile(cmp.Or(d.out, d.log), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
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
		tail := d.tail(logStart)
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
	if d.stopped != nil {
		d.stopped()
	}
	return err
}

// tail returns the last lines of the log since offset and, when stdout
// and stderr go elsewhere, the last lines written there: what the process
// said before it could open its log.
func (d *daemon) tail(offset int64) string {
	var b strings.Builder
	if data, err := os.ReadFile(d.log); err == nil && int64(len(data)) >= offset {
		b.WriteString(lastLines(string(data[offset:]), 30))
	}
	if d.out == "" {
		return b.String()
	}
	if data, err := os.ReadFile(d.out); err == nil && len(data) > 0 {
		fmt.Fprintf(&b, "--- tail of %s ---\n", d.out)
		b.WriteString(lastLines(string(data), 10))
	}
	return b.String()
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
	return readBanner(c, deadline)
}

// readBanner reads the first line from c and requires an "SSH-2.0-"
// banner.
func readBanner(c net.Conn, deadline time.Time) error {
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

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func lastLines(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}
