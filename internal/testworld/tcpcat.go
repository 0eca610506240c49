package testworld

import (
	"fmt"
	"io"
	"net"
	"time"
)

// TCPCat connects to addr and copies stdin to the connection and the
// connection to stdout until the server closes the connection: a netcat
// for ProxyCommand tests that needs no package. When stdin ends, it
// half-closes the connection. If logPath is not empty, it appends
// "connect ADDR\n" to that file once connected, so that a test can see the
// proxy was used.
//
// TCPCat is the body of a process (cmd/gitssh's tests register it as the
// tcpcat command): when the server closes the connection it returns
// without waiting for stdin to end, and the process exits.
func TCPCat(addr string, stdin io.Reader, stdout io.Writer, logPath string) error {
	c, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	if logPath != "" {
		if err := appendFile(logPath, []byte("connect "+addr+"\n")); err != nil {
			return err
		}
	}
	go func() {
		io.Copy(c, stdin)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
	}()
	if _, err := io.Copy(stdout, c); err != nil {
		return fmt.Errorf("tcpcat %s: %w", addr, err)
	}
	return nil
}
