package mux

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// ErrMasterUnavailable is a control socket nobody answers on: no master is
// running (or a stale socket is left). The command starts one, or runs in
// direct mode.
var ErrMasterUnavailable = errors.New("mux: master unavailable")

// ErrMasterExited is a master told to exit (gitssh -O exit) while it ran
// the command, which it ended.
var ErrMasterExited = errors.New("mux: the master was told to exit while the command ran")

// ErrMasterLost is a master that went away while it ran a command; the
// command's outcome is unknown and it must not be retried.
var ErrMasterLost = errors.New("mux: lost the connection to the master")

// Asker is what a client needs to answer a master's questions: the user's
// terminal or askpass program.
type Asker interface {
	Secret(prompt string) (string, error)
	Confirm(prompt string) (string, error)
}

// Client talks to the master listening on a control socket.
type Client struct {
	SocketPath string
	Version    string
}

func (c Client) connect(ctx context.Context) (*net.UnixConn, *controlConn, error) {
	uc, err := dialControl(ctx, c.SocketPath)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrMasterUnavailable, err)
	}
	cc := newControlConn(uc)
	h, err := clientHello(cc, c.Version)
	if err != nil {
		if _, ok := errors.AsType[*VersionMismatchError](err); ok {
			return uc, cc, err
		}
		cc.close()
		return nil, nil, fmt.Errorf("%w: %w", ErrMasterUnavailable, err)
	}
	if h.Program != c.Version {
		return uc, cc, &VersionMismatchError{Ours: protocolVersion, Theirs: h.Version, OursProgram: c.Version, TheirsProgram: h.Program}
	}
	return uc, cc, nil
}

// Run hands req and the three descriptors to the master and returns the
// command's exit status. Prompts from the master are answered with asker.
// Cancelling ctx cancels the command.
func (c Client) Run(ctx context.Context, req RunRequest, stdin, stdout, stderr *os.File, asker Asker) (int, error) {
	uc, cc, err := c.connect(ctx)
	if err != nil {
		if uc != nil {
			uc.Close()
		}
		return ExitStatusLost, err
	}
	defer cc.close()
	stop := context.AfterFunc(ctx, func() { uc.Close() })
	defer stop()
	if err := cc.writeMsg(msgRun, req, stdin, stdout, stderr); err != nil {
		return ExitStatusLost, fmt.Errorf("%w: %w", ErrMasterUnavailable, err)
	}
	for {
		t, body, files, err := cc.readMsg()
		dropFiles(files)
		if err != nil {
			if ctx.Err() != nil {
				return ExitStatusLost, ctx.Err()
			}
			return ExitStatusLost, ErrMasterLost
		}
		switch t {
		case msgPrompt:
			var p prompt
			if err := json.Unmarshal(body, &p); err != nil {
				return ExitStatusLost, fmt.Errorf("mux: bad prompt from master: %w", err)
			}
			a := answer{ID: p.ID}
			var aerr error
			if p.Echo {
				a.Text, aerr = asker.Confirm(p.Text)
			} else {
				a.Text, aerr = asker.Secret(p.Text)
			}
			if aerr != nil {
				a.Err = aerr.Error()
			}
			if err := cc.writeMsg(msgAnswer, a); err != nil {
				if ctx.Err() != nil {
					return ExitStatusLost, ctx.Err()
				}
				return ExitStatusLost, ErrMasterLost
			}
		case msgExit:
			var e exitMsg
			if err := json.Unmarshal(body, &e); err != nil {
				return ExitStatusLost, fmt.Errorf("mux: bad exit from master: %w", err)
			}
			if e.NotStarted {
				// The master was exiting: nothing ran, so it may run elsewhere.
				return ExitStatusLost, fmt.Errorf("%w: master exiting", ErrMasterUnavailable)
			}
			if e.Err != "" {
				return e.Status, errors.New(e.Err)
			}
			return e.Status, nil
		}
	}
}

// Control sends a control command (check, exit, stop, status, status-json)
// and returns the master's reply. A master of another version is still
// asked: stopping an old master is what the command is for.
func (c Client) Control(ctx context.Context, command string) (text string, status *MasterStatus, err error) {
	uc, cc, err := c.connect(ctx)
	if err != nil && uc == nil {
		return "", nil, err
	}
	defer cc.close()
	if err := cc.writeMsg(msgControl, controlReq{Command: command}); err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrMasterUnavailable, err)
	}
	uc.SetReadDeadline(time.Now().Add(10 * time.Second))
	t, body, files, err := cc.readMsg()
	dropFiles(files)
	if err != nil || t != msgControlReply {
		return "", nil, ErrMasterLost
	}
	var reply controlReply
	if err := json.Unmarshal(body, &reply); err != nil {
		return "", nil, fmt.Errorf("mux: bad control reply: %w", err)
	}
	if !reply.OK {
		return "", nil, errors.New(reply.Text)
	}
	if len(reply.Status) > 0 {
		status = new(MasterStatus)
		if err := json.Unmarshal(reply.Status, status); err != nil {
			return "", nil, fmt.Errorf("mux: bad status: %w", err)
		}
	}
	return reply.Text, status, nil
}
