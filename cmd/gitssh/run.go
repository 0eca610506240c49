package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"

	"github.com/gitssh/gitssh/config"
	"github.com/gitssh/gitssh/dial"
	"github.com/gitssh/gitssh/mux"
)

// run is the whole command, testable: it returns the exit status.
func run(ctx context.Context, args, environ []string, stdin io.Reader, stdout, stderr io.Writer) int {
	u := &ui{stderr: stderr}
	if len(args) > 0 && args[0] == masterFlag {
		return runMaster(ctx, args[1:], envMap(environ))
	}
	inv, err := parseArgs(args)
	if err != nil {
		return u.usage(err)
	}
	switch {
	case inv.help:
		fmt.Fprint(stdout, helpText)
		return 0
	case inv.version:
		fmt.Fprintf(stderr, "gitssh %s\n", version())
		return 0
	case inv.setup:
		return runSetup(ctx, u, environ, inv.undo, inv.force)
	}
	u.verbose = inv.req.Verbose
	u.quiet = inv.req.Quiet
	env := envMap(environ)
	for _, flag := range inv.ignored {
		u.Debugf("ignoring option %s: gitssh does not implement it", flag)
	}
	if inv.control != "" {
		return control(ctx, u, inv.control, env, stdout)
	}

	d, err := config.Resolve(inv.req, localEnv(env))
	if err != nil {
		u.errorf("%v", err)
		return exitTransport
	}
	u.setLogLevel(d.LogLevel)
	for _, note := range d.Notes {
		u.Debugf("%s", note)
	}
	if inv.printConfig {
		if err := d.WriteG(stdout); err != nil {
			u.errorf("%v", err)
			return exitTransport
		}
		return 0
	}

	if inv.stdinNull {
		devNull, err := os.Open(os.DevNull)
		if err != nil {
			u.errorf("%v", err)
			return exitTransport
		}
		defer devNull.Close()
		stdin = devNull
	}
	cmd := mux.Command{
		Line:   inv.remoteCommand(),
		Env:    d.Environment(environ),
		Stdin:  stdin,
		Stdout: stdout,
		Stderr: stderr,
		Debugf: u.Debugf,
	}
	if d.ControlMaster != "no" {
		if stdio, ok := osFiles(stdin, stdout, stderr); ok {
			req := mux.RunRequest{
				Dest:     d,
				Key:      mux.PoolKey(d, env["SSH_AUTH_SOCK"]),
				Command:  cmd.Line,
				Env:      cmd.Env,
				Verbose:  u.verbose,
				Quiet:    u.quiet,
				AuthSock: env["SSH_AUTH_SOCK"],
			}
			if status, ok := viaMaster(ctx, u, env, d, req, stdio); ok {
				return status
			}
		}
	}
	opts := dial.Options{
		Prompter:    newPrompter(env),
		AuthSock:    env["SSH_AUTH_SOCK"],
		Debugf:      u.Debugf,
		Warnf:       u.Warnf,
		ProxyStderr: stderr,
	}
	u.Debugf("direct mode: a connection of its own")
	status, err := mux.Direct(ctx, d, cmd, opts)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return exitTransport
		}
		return u.Report(err, d)
	}
	return status
}

// osFiles returns the three streams as files, which can be passed to the
// master, or false when one of them is not a file.
func osFiles(stdin io.Reader, stdout, stderr io.Writer) ([3]*os.File, bool) {
	in, ok1 := stdin.(*os.File)
	out, ok2 := stdout.(*os.File)
	errOut, ok3 := stderr.(*os.File)
	return [3]*os.File{in, out, errOut}, ok1 && ok2 && ok3
}

// envMap indexes an environment; the last value of a name wins, as in getenv.
func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

// localEnv gathers what config needs to know about this side.
func localEnv(env map[string]string) config.Env {
	e := config.Env{
		Home:      env["HOME"],
		LocalUser: env["USER"],
		UID:       os.Getuid(),
		Getenv:    func(k string) string { return env[k] },
	}
	if e.LocalUser == "" {
		e.LocalUser = env["LOGNAME"]
	}
	if e.Home == "" || e.LocalUser == "" {
		if u, err := user.LookupId(strconv.Itoa(e.UID)); err == nil {
			if e.Home == "" {
				e.Home = u.HomeDir
			}
			if e.LocalUser == "" {
				e.LocalUser = u.Username
			}
		}
	}
	e.LocalHost, _ = os.Hostname()
	return e
}

const helpText = `gitssh: the ssh for git. Set it up as git's ssh command with

    gitssh --setup          # core.sshCommand and ssh.variant in your global git config
    export GIT_SSH=gitssh   # as well, for Android repo (see README)

or export GIT_SSH_COMMAND=gitssh (git then runs "gitssh -G" before every command).

It takes ssh's command line and honours ~/.ssh/config, known_hosts and
ssh-agent; each command runs as a channel of a connection kept open by a
per-user background master, so hundreds of git commands share a handful of
handshakes.

usage: gitssh [-46GTnqvV] [-F configfile] [-i identity_file] [-J destination]
              [-l login_name] [-O ctl_cmd] [-o option] [-p port]
              destination [command [argument ...]]
       gitssh --setup [--force | --undo]

  -G            print the resolved configuration and exit (as ssh -G)
  -O check|exit|stop|status
                ask the master about, or stop, its connections
  -o Key=Value  any ssh_config option, e.g. -o ServerAliveInterval=30
  -v            debug output on stderr (repeat for more)
  -V            print the version
  --setup [--force] | --setup --undo
                write (or remove) gitssh's settings in the global git config;
                --force replaces another core.sshCommand. ssh has no long
                options, so a --word is never taken for a host

Defaults that differ from OpenSSH's: ServerAliveInterval 3, ServerAliveCountMax 10,
ControlMaster auto with gitssh's own master (ControlMaster no: direct mode).
`
