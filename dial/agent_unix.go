//go:build !windows

package dial

import "net"

// dialAgent connects to the agent's Unix socket.
func dialAgent(sock string) (net.Conn, error) { return net.Dial("unix", sock) }
