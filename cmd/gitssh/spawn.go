package main

// What starting a master needs of the platform, in spawn_unix.go and
// spawn_windows.go:
//
//	lockFile(ctx, path) (unlock func(), err error)
//		an exclusive lock on path, so that 64 clients starting at once
//		make exactly one master;
//	startDetached(ctx, u, cmd, client, logPath) error
//		start cmd (the master, stdio to its log) detached from git: in no
//		process group of git's, holding none of git's descriptors or
//		handles; then wait until it serves, it exits, or
//		masterStartTimeout passes;
//	readySignal() func()
//		in the master, what Serve calls once it listens, which
//		startDetached waits for.

import "time"

// masterStartTimeout bounds the wait for a starting master, and for the
// lock that serialises starting one.
const masterStartTimeout = 10 * time.Second

// lockPollInterval is how often a client waiting for the lock tries again.
const lockPollInterval = 5 * time.Millisecond
