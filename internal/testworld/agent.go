package testworld

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Agent is a real ssh-agent started by [StartAgent].
type Agent struct {
	// Socket is the agent's socket: the value for SSH_AUTH_SOCK.
	Socket string

	// mu guards the fields that follow.
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// StartAgent starts "ssh-agent -D -a socket" and adds the unencrypted
// private keys with ssh-add. The socket path must be short (a Unix socket
// path is limited to about 100 bytes) and must not exist. Callers must
// call [Agent.Stop].
func StartAgent(socket string, keys ...string) (*Agent, error) {
	agentPath, err := LookTool("ssh-agent")
	if err != nil {
		return nil, fmt.Errorf("testworld: ssh-agent not found: %w", err)
	}
	addPath, err := LookTool("ssh-add")
	if err != nil {
		return nil, fmt.Errorf("testworld: ssh-add not found: %w", err)
	}
	if socket, err = filepath.Abs(socket); err != nil {
		return nil, err
	}
	cmd := exec.Command(agentPath, "-D", "-a", socket)
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("testworld: start ssh-agent: %w", err)
	}
	a := &Agent{Socket: socket, cmd: cmd, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(a.exited)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if fi, err := os.Stat(socket); err == nil && fi.Mode()&os.ModeSocket != 0 {
			break
		}
		select {
		case <-a.exited:
			return nil, fmt.Errorf("testworld: ssh-agent exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			a.Stop()
			return nil, fmt.Errorf("testworld: ssh-agent made no socket at %s", socket)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, k := range keys {
		add := exec.Command(addPath, "-q", k)
		add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+socket)
		if out, err := add.CombinedOutput(); err != nil {
			a.Stop()
			return nil, fmt.Errorf("testworld: ssh-add %s: %w\n%s", k, err, out)
		}
	}
	return a, nil
}

// Stop kills the agent and removes its socket. It is idempotent.
func (a *Agent) Stop() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cmd == nil {
		return nil
	}
	a.cmd.Process.Kill()
	<-a.exited
	a.cmd = nil
	os.Remove(a.Socket)
	return nil
}
