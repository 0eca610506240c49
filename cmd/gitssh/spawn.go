package main

// What starting a master needs of the platform, in spawn_unix.go and
// spawn_windows.go:
//
//	tryLock(f) (busy bool, err error), unlock(f)
//		an exclusive lock on a file without waiting, for lockFile;
//	startDetached(ctx, u, cmd, client, logPath) error
//		start cmd (the master, stdio to its log) detached from git: in no
//		process group of git's, holding none of git's descriptors or
//		handles; then wait until it serves, it exits, or
//		masterStartTimeout passes;
//	readySignal() func()
//		in the master, what Serve calls once it listens, which
//		startDetached waits for.

import (
	"context"
	"fmt"
	"os"
	"time"
)

// masterStartTimeout bounds the wait for a starting master, and for the
// lock that serialises starting one.
const masterStartTimeout = 10 * time.Second

// lockPollInterval is how often a client waiting for the lock tries again.
const lockPollInterval = 5 * time.Millisecond

// lockFile takes an exclusive lock on path, so that 64 clients starting a
// master at once make exactly one, waiting up to masterStartTimeout.
func lockFile(ctx context.Context, path string) (release func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(masterStartTimeout)
	for {
		busy, err := tryLock(f)
		if err == nil {
			return func() { unlock(f); f.Close() }, nil
		}
		if !busy || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(lockPollInterval):
		}
	}
}
