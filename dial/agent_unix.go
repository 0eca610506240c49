//go:build !windows

package dial

import "net"

// defaultAgent is the agent used when SSH_AUTH_SOCK is unset: none, as
// with OpenSSH.
const defaultAgent = ""

// dialAgent connects to the agent's Unix socket.
func dialAgent(sock string) (net.Conn, error) { return net.Dial("unix", sock) }
