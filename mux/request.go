package mux

import (
	"io"

	"github.com/gitssh/gitssh/config"
	"github.com/gitssh/gitssh/dial"
)

// Request is one command to run, in direct mode or through the master. It
// is the body of the control protocol's run messages (PROTOCOL.md).
type Request struct {
	Dest config.Destination `json:"dest"`
	// Command is the remote command line; empty requests a shell.
	Command string `json:"command,omitempty"`
	// Env holds the "NAME=value" pairs forwarded to the server (SendEnv,
	// SetEnv). The server may refuse any of them; that is not an error.
	Env []string `json:"env,omitempty"`
	// AgentSocket is the client's SSH_AUTH_SOCK.
	AgentSocket string `json:"agent_socket,omitempty"`
	// ProxyEnv and Dir are the client's environment and working
	// directory. A ProxyCommand runs with them, as if the client had
	// started it; they are sent only when some hop has a ProxyCommand.
	ProxyEnv []string `json:"proxy_env,omitempty"`
	Dir      string   `json:"dir,omitempty"`
}

// Stdio is a command's standard streams.
type Stdio struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// poolKey names the pool the request may share: two requests share a
// connection only if they would have authenticated the same way to the
// same server.
func (r Request) poolKey() string { return r.Dest.PoolKey(r.AgentSocket) }

// dialOptions are the options for a dial on behalf of r.
func (r Request) dialOptions(prompter dial.Prompter, rep Reporter, proxyStderr io.Writer) dial.Options {
	return dial.Options{
		Prompter:    prompter,
		AuthSock:    r.AgentSocket,
		Debugf:      rep.Debugf,
		Warnf:       rep.Warnf,
		ProxyStderr: proxyStderr,
		ProxyEnv:    r.ProxyEnv,
		ProxyDir:    r.Dir,
	}
}

// command is r's remote command with its streams.
func (r Request) command(stdio Stdio, rep Reporter) Command {
	return Command{
		Line:   r.Command,
		Env:    r.Env,
		Stdin:  stdio.Stdin,
		Stdout: stdio.Stdout,
		Stderr: stdio.Stderr,
		Debugf: rep.Debugf,
	}
}

// Reporter is how a command's outcome reaches its user, on that command's
// own stderr, in the gitssh command's words.
type Reporter interface {
	Debugf(format string, args ...any)
	Warnf(format string, args ...any)
	// Report words the error that ended a command.
	Report(err error, d config.Destination)
}
