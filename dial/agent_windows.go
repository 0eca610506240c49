package dial

import (
	"net"
	"strings"
	"time"

	"github.com/Microsoft/go-winio"
)

// agentPipeTimeout bounds the wait for a free instance of an agent's pipe.
const agentPipeTimeout = 2 * time.Second

// dialAgent connects to an agent: a named pipe for a \\.\pipe\ path (the
// Windows OpenSSH agent, or any agent that serves a pipe), an AF_UNIX
// socket otherwise (Windows 10 1803 and later have them).
func dialAgent(sock string) (net.Conn, error) {
	if isPipePath(sock) {
		timeout := agentPipeTimeout
		return winio.DialPipe(sock, &timeout)
	}
	return net.Dial("unix", sock)
}

func isPipePath(p string) bool {
	const prefix = `\\.\pipe\`
	return len(p) > len(prefix) && strings.EqualFold(strings.ReplaceAll(p[:len(prefix)], "/", `\`), prefix)
}
