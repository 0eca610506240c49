package dial

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// proxyConn is a ProxyCommand's standard input and output used as the
// connection to the server.
type proxyConn struct {
	cmd *exec.Cmd
	r   *os.File // the command's stdout
	w   *os.File // the command's stdin

	closeOnce sync.Once
	closeErr  error
}

// startProxyCommand runs command through /bin/sh, as OpenSSH does ("exec"
// first, so the shell does not linger), with its stdio as the connection,
// in dir with env (see Options.ProxyDir and ProxyEnv).
func startProxyCommand(command string, env []string, dir string, stderr io.Writer) (net.Conn, error) {
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
	cmd.Env = env
	cmd.Dir = dir
	// stderr may be a pipe copied by a goroutine: a child of the proxy
	// that keeps it open must not hold up Close for ever.
	cmd.WaitDelay = time.Second
	err = cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("proxy command %q: %w", command, err)
	}
	return &proxyConn{cmd: cmd, r: outR, w: inW}, nil
}

func (p *proxyConn) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p *proxyConn) Write(b []byte) (int, error) { return p.w.Write(b) }

// Close ends the command as OpenSSH does, with SIGHUP (after closing its
// stdin), then SIGKILL if it has not exited within a second; it is always
// reaped.
func (p *proxyConn) Close() error {
	p.closeOnce.Do(func() {
		p.w.Close()
		p.cmd.Process.Signal(syscall.SIGHUP)
		done := make(chan struct{})
		go func() {
			p.cmd.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(time.Second):
			p.cmd.Process.Kill()
			<-done
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
