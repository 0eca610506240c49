package main

// The client's side of the master: running a command through it (starting
// one when none answers) and the -O control requests. The master process
// itself is in master.go.

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/gitssh/gitssh/mux"
)

// controlPaths locates the user's control directory, creating it if needed.
func controlPaths(env map[string]string) (dir string, err error) {
	runtimeDir, tempDir := controlDirEnv(env)
	return mux.ControlDir(mux.ControlDirOptions{
		Override:   env["GITSSH_CONTROL_DIR"],
		RuntimeDir: runtimeDir,
		TempDir:    tempDir,
		UID:        os.Getuid(),
	})
}

// viaMaster runs the command through the user's master, starting one when
// none answers. ok is false when the master cannot be used; nothing was run
// then, and the caller runs the command directly.
func viaMaster(ctx context.Context, u *ui, env map[string]string, req mux.Request, stdio mux.Stdio, prompter *prompter) (status int, ok bool) {
	if err := mux.MasterSupported(); err != nil {
		u.Debugf("multiplexing off: %v", err)
		return 0, false
	}
	dir, err := controlPaths(env)
	if err != nil {
		u.Debugf("multiplexing off: %v", err)
		return 0, false
	}
	client := mux.Client{SocketPath: mux.SocketPath(dir), Version: version(), Relay: env["GITSSH_RELAY"] == "1"}
	how := "passing descriptors"
	if client.Relays(stdio) {
		how = "relay"
	}
	for attempt := 0; attempt < 2; attempt++ {
		u.Debugf("running through the master at %s (%s)", client.SocketPath, how)
		status, err := client.Run(ctx, req, stdio, prompter)
		switch {
		case err == nil:
			return status, true
		case errors.Is(err, context.Canceled):
			return mux.ExitStatusLost, true
		case errors.Is(err, mux.ErrMasterSilent):
			u.Debugf("master at %s: %v", client.SocketPath, err)
			return 0, false
		case errors.Is(err, mux.ErrMasterUnavailable):
			u.Debugf("no master at %s: %v", client.SocketPath, err)
		case isVersionMismatch(err):
			u.Debugf("master of another version: stopping it (%v)", err)
			client.Control(ctx, "stop")
		default:
			// The master took the command: its outcome is final.
			u.Report(err, req.Dest)
			return mux.ExitStatusLost, true
		}
		if attempt == 0 {
			if err := startMaster(ctx, u, dir, client, req.Dest.ControlPersist, env); err != nil {
				u.Debugf("cannot start master: %v", err)
				return 0, false
			}
		}
	}
	return 0, false
}

func isVersionMismatch(err error) bool {
	_, ok := errors.AsType[*mux.VersionMismatchError](err)
	return ok
}

// maxLogSize is the size past which a starting master begins a new log.
const maxLogSize = 4 << 20

// startMaster starts a master unless another client did so first: under an
// exclusive lock, so that 64 clients starting at once make exactly one.
func startMaster(ctx context.Context, u *ui, dir string, client mux.Client, persist time.Duration, env map[string]string) error {
	unlock, err := lockFile(ctx, filepath.Join(dir, "master.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	if _, _, err := client.Control(ctx, "check"); err == nil {
		return nil // another client started it while we waited
	}

	exe, err := os.Executable()
	if err != nil {
		return err
	}
	logPath := filepath.Join(dir, "master.log")
	if st, err := os.Stat(logPath); err == nil && st.Size() > maxLogSize {
		os.Rename(logPath, logPath+".old") // one generation is kept
	}
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()

	cmd := exec.Command(exe, masterFlag, dir, persist.String())
	cmd.Args[0] = os.Args[0] // keeps argv[0], which test harnesses dispatch on
	cmd.Stdin = nil
	cmd.Stdout = logf
	cmd.Stderr = logf
	return startDetached(ctx, u, cmd, client, logPath)
}

// control runs "gitssh -O command": check, exit, stop, status, status-json.
func control(ctx context.Context, u *ui, command string, env map[string]string, stdout io.Writer) int {
	dir, err := controlPaths(env)
	if err != nil {
		u.errorf("%v", err)
		return mux.ExitStatusLost
	}
	client := mux.Client{SocketPath: mux.SocketPath(dir), Version: version()}
	asked := command
	if command == "status-json" {
		asked = "status"
	}
	pid, status, err := client.Control(ctx, asked)
	if err != nil {
		u.controlFailed(client.SocketPath, err)
		return mux.ExitStatusLost
	}
	u.controlDone(command, pid, status, stdout)
	return 0
}
