package main

import (
	"cmp"
	"context"
	"io"
	"os"
	"os/user"
	"runtime"
	"strconv"
	"strings"

	"github.com/gitssh/gitssh/config"
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
		u.help(stdout)
		return 0
	case inv.version:
		u.version(version())
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

	local := localEnv(env)
	d, err := config.Resolve(inv.req, local)
	if err != nil {
		u.errorf("%v", err)
		return mux.ExitStatusLost
	}
	u = newUI(stderr, d)
	for _, note := range d.Notes {
		u.Debugf("%s", note)
	}
	if inv.printConfig {
		if err := d.WriteG(stdout); err != nil {
			u.errorf("%v", err)
			return mux.ExitStatusLost
		}
		return 0
	}

	if inv.stdinNull {
		devNull, err := os.Open(os.DevNull)
		if err != nil {
			u.errorf("%v", err)
			return mux.ExitStatusLost
		}
		defer devNull.Close()
		stdin = devNull
	}
	req := mux.Request{
		Dest:        d,
		Command:     inv.remoteCommand(),
		Env:         d.Environment(environ),
		AgentSocket: agentSocket(env),
	}
	if d.HasProxyCommand() {
		req.ProxyEnv = environ
		req.Dir = local.WorkDir
	}
	stdio := mux.Stdio{Stdin: stdin, Stdout: stdout, Stderr: stderr}
	prompter := newPrompter(env)
	if d.ControlMaster != "no" {
		if status, ok := viaMaster(ctx, u, env, req, stdio, prompter); ok {
			return status
		}
	}
	u.Debugf("direct mode: a connection of its own")
	return mux.Direct(ctx, req, stdio, prompter, u)
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
	if runtime.GOOS == "windows" {
		// Git for Windows sets HOME; cmd.exe and PowerShell leave it unset,
		// and Windows has no uid to look the user up by.
		e.Home = cmp.Or(e.Home, env["USERPROFILE"])
		e.LocalUser = cmp.Or(e.LocalUser, env["USERNAME"])
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
	e.WorkDir, _ = os.Getwd()
	return e
}
