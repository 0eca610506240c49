package mux

import (
	"context"
	"errors"

	"github.com/gitssh/gitssh/config"
	"github.com/gitssh/gitssh/dial"
)

// Direct runs cmd on a connection of its own to d and closes the connection
// afterwards. It is what gitssh does when multiplexing is off or the master
// cannot be reached, and it shares its session code with the master.
func Direct(ctx context.Context, d config.Destination, cmd Command, opts dial.Options) (int, error) {
	c, err := dialConn(ctx, dial.Dial, d, opts)
	if err != nil {
		return ExitStatusLost, err
	}
	defer c.close()
	status, err := runSession(ctx, c, cmd)
	if oe, ok := errors.AsType[*openError](err); ok {
		return status, oe.err
	}
	return status, err
}
