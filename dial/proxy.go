package dial

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// proxyConn is a ProxyCommand's standard input and output used as the
// connection to the server.
type proxyConn struct {
	command string
	cmd     *exec.Cmd
	r       *os.File      // the command's stdout
	w       *os.File      // the command's stdin
	exited  chan struct{} // closed when the command has exited and is reaped
	state   *os.ProcessState
	closing atomic.Bool // Close was called: the exit is ours, not the command's

	closeOnce sync.Once
	closeErr  error
}

// startProxyCommand runs command through /bin/sh, as OpenSSH does ("exec"
// first, so the shell does not linger), with its stdio as the connection.
func startProxyCommand(command string, stderr io.Writer) (net.Conn, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	cmd := exec.Command("/bin/sh", "-c", "exec "+command)
	cmd.Stdin = inR
	cmd.Stdout = outW
	cmd.Stderr = stderr
	err = cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("proxy command %q: %w", command, err)
	}
	p := &proxyConn{command: command, cmd: cmd, r: outR, w: inW, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		p.state = cmd.ProcessState
		close(p.exited)
	}()
	return p, nil
}

func (p *proxyConn) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	return n, p.exitError(err)
}

func (p *proxyConn) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	return n, p.exitError(err)
}

// proxyExitWait bounds how long an end of the stream waits for the command
// to be reaped: it closes its stdout by exiting, so this is short.
const proxyExitWait = time.Second

// exitError makes err, the end of the stream, a *ProxyExitError when the
// command ended it by exiting unsuccessfully.
func (p *proxyConn) exitError(err error) error {
	if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.EPIPE) || p.closing.Load() {
		return err
	}
	select {
	case <-p.exited:
	case <-time.After(proxyExitWait):
		return err
	}
	if p.state.Success() || p.closing.Load() {
		return err
	}
	return &ProxyExitError{Command: p.command, Status: p.state.ExitCode(), Err: err}
}

// Close ends the command as OpenSSH does, with SIGHUP (after closing its
// stdin), then SIGKILL if it has not exited within a second; it is always
// reaped.
func (p *proxyConn) Close() error {
	p.closeOnce.Do(func() {
		p.closing.Store(true)
		p.w.Close()
		p.cmd.Process.Signal(syscall.SIGHUP)
		select {
		case <-p.exited:
		case <-time.After(time.Second):
			p.cmd.Process.Kill()
			<-p.exited
		}
		p.closeErr = p.r.Close()
	})
	return p.closeErr
}

// A ProxyCommand's ends have no address; like OpenSSH ("UNKNOWN port
// 65535") they get a placeholder, in host:port form because known_hosts
// checking parses it.
func (p *proxyConn) LocalAddr() net.Addr  { return proxyAddr("UNKNOWN:0") }
func (p *proxyConn) RemoteAddr() net.Addr { return proxyAddr("UNKNOWN:0") }

func (p *proxyConn) SetDeadline(t time.Time) error {
	if err := p.r.SetReadDeadline(t); err != nil {
		return err
	}
	return p.w.SetWriteDeadline(t)
}
func (p *proxyConn) SetReadDeadline(t time.Time) error  { return p.r.SetReadDeadline(t) }
func (p *proxyConn) SetWriteDeadline(t time.Time) error { return p.w.SetWriteDeadline(t) }

type proxyAddr string

func (a proxyAddr) Network() string { return "proxy" }
func (a proxyAddr) String() string  { return string(a) }
