package mux

import (
	"context"
	"errors"

	"github.com/gitssh/gitssh/config"
	"github.com/gitssh/gitssh/dial"
)

// Direct runs req on a connection of its own and closes the connection
// afterwards. It is what gitssh does when multiplexing is off or the master
// cannot be reached, and it shares its session code with the master. A
// failure is worded through rep; the status is the remote command's, or
// ExitStatusLost.
func Direct(ctx context.Context, req Request, stdio Stdio, prompter dial.Prompter, rep Reporter) int {
	c, err := dialConn(ctx, dial.Dial, req.Dest, req.dialOptions(prompter, rep, stdio.Stderr))
	if err != nil {
		return reportFailure(ctx, rep, err, req.Dest)
	}
	defer c.close()
	status, err := runSession(ctx, c, req.command(stdio, rep))
	if oe, ok := errors.AsType[*openError](err); ok {
		err = oe.err
	}
	if err != nil {
		return reportFailure(ctx, rep, err, req.Dest)
	}
	return status
}

// reportFailure words err for the user, unless the command was cancelled
// (the user pressed ^C, or git went away: nobody is listening), and
// returns ExitStatusLost.
func reportFailure(ctx context.Context, rep Reporter, err error, d config.Destination) int {
	if ctx.Err() == nil {
		rep.Report(err, d)
	}
	return ExitStatusLost
}
