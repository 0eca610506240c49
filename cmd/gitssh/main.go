package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := context.Background(), func() {}
	// git's probe (-G) runs before every command when only GIT_SSH_COMMAND
	// is set: commands that only print need no signal handling, whose
	// goroutine and thread are a measurable part of such a short process.
	if !printsOnly(os.Args[1:]) {
		ctx, stop = signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	}
	code := run(ctx, os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
