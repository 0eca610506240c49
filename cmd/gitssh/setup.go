package main

// gitssh --setup: configure git for gitssh in the user's global git
// config, so that git runs gitssh without an environment variable and
// without its "-G" probe.
//
// It runs "git config --global" with the environment gitssh was given
// rather than editing a file: which file is "global" (GIT_CONFIG_GLOBAL,
// else ~/.gitconfig, else $XDG_CONFIG_HOME/git/config when only that one
// exists), its syntax, quoting, includes and locking are git's rules, and
// git applies them exactly as it will when it reads the file back.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// The settings --setup writes. ssh.variant tells git that the command
// takes OpenSSH's options (-p, -4, -6, -o SendEnv), which saves the
// "gitssh -G" probe git otherwise runs before every command of a command
// it does not know by name.
const (
	keySSHCommand = "core.sshCommand"
	keySSHVariant = "ssh.variant"
	variantSSH    = "ssh"
)

// setupRefusedError is a setting --setup would have to replace: one that
// the user (or another tool) set to something else.
type setupRefusedError struct {
	key, have, file string
}

func (e *setupRefusedError) Error() string {
	return fmt.Sprintf("%s is already %q in %s", e.key, e.have, e.file)
}

// gitConfig runs "git config --global ARGS" with gitssh's environment.
type gitConfig struct {
	environ []string
}

// run returns git's stdout and exit status; err carries git's message.
func (g gitConfig) run(ctx context.Context, args ...string) (out string, status int, err error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"config", "--global"}, args...)...)
	cmd.Env = g.environ
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = ee.Error()
		}
		return stdout.String(), ee.ExitCode(), fmt.Errorf("git config --global %s: %s", strings.Join(args, " "), msg)
	}
	if err != nil {
		return "", -1, fmt.Errorf("git config: %w", err)
	}
	return stdout.String(), 0, nil
}

// get returns the value git uses for key in the global config (the last
// one) and the file it is in; set is false when the key is absent.
func (g gitConfig) get(ctx context.Context, key string) (value, file string, set bool, err error) {
	out, status, err := g.run(ctx, "--show-origin", "--get", key)
	if status == 1 {
		return "", "", false, nil // not set
	}
	if err != nil {
		return "", "", false, err
	}
	// "file:PATH\tVALUE\n"
	origin, value, _ := strings.Cut(strings.TrimSuffix(out, "\n"), "\t")
	return value, strings.TrimPrefix(origin, "file:"), true, nil
}

func (g gitConfig) set(ctx context.Context, key, value string) error {
	_, _, err := g.run(ctx, key, value)
	return err
}

// unset removes key if it still has exactly value.
func (g gitConfig) unset(ctx context.Context, key, value string) error {
	_, _, err := g.run(ctx, "--fixed-value", "--unset", key, value)
	return err
}

// sshCommandValue is what --setup writes to core.sshCommand: the name
// "gitssh" when that name on PATH is this very executable (so that the
// setting survives an upgrade that replaces the file, and reads as the
// README says), else this executable's absolute path, which works
// whatever PATH git is given (an IDE, cron, a service) and never runs
// another gitssh found earlier on PATH.
func sshCommandValue(env map[string]string) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("cannot find this executable: %w", err)
	}
	if exe, err = filepath.Abs(exe); err != nil {
		return "", err
	}
	self, err := os.Stat(exe)
	if err != nil {
		return "", err
	}
	if onPath := lookPath("gitssh", env["PATH"]); onPath != "" {
		if st, err := os.Stat(onPath); err == nil && os.SameFile(st, self) {
			return "gitssh", nil
		}
	}
	return exe, nil
}

// lookPath finds name in the directories of path as a shell would: the
// first executable regular file. It takes PATH from gitssh's environment
// rather than the process's.
func lookPath(name, path string) string {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// setupWant is one setting --setup manages: the value it writes and the
// values it accepts as its own (for --undo).
type setupWant struct {
	key   string
	value string
	ours  []string
}

func setupWants(env map[string]string) ([]setupWant, error) {
	cmd, err := sshCommandValue(env)
	if err != nil {
		return nil, err
	}
	ours := []string{cmd, "gitssh"}
	if exe, err := os.Executable(); err == nil {
		ours = append(ours, exe)
	}
	return []setupWant{
		{key: keySSHCommand, value: cmd, ours: ours},
		{key: keySSHVariant, value: variantSSH, ours: []string{variantSSH}},
	}, nil
}

// runSetup is "gitssh --setup [--force]" and "gitssh --setup --undo".
func runSetup(ctx context.Context, u *ui, environ []string, undo, force bool) int {
	env := envMap(environ)
	wants, err := setupWants(env)
	if err != nil {
		u.errorf("%v", err)
		return 1
	}
	g := gitConfig{environ: environ}
	if undo {
		return undoSetup(ctx, u, g, wants)
	}

	// Look at everything before writing anything: a refusal leaves the
	// file as it was.
	type current struct {
		value, file string
		set         bool
	}
	have := make([]current, len(wants))
	refused := false
	for i, w := range wants {
		v, f, set, err := g.get(ctx, w.key)
		if err != nil {
			u.errorf("%v", err)
			return 1
		}
		have[i] = current{v, f, set}
		if set && v != w.value && !force {
			u.setupRefused(&setupRefusedError{key: w.key, have: v, file: f})
			refused = true
		}
	}
	if refused {
		return 1
	}
	for i, w := range wants {
		h := have[i]
		if h.set && h.value == w.value {
			u.setupLine("already set", w.key, w.value, h.file, "")
			continue
		}
		if err := g.set(ctx, w.key, w.value); err != nil {
			u.errorf("%v", err)
			return 1
		}
		_, file, _, err := g.get(ctx, w.key)
		if err != nil {
			u.errorf("%v", err)
			return 1
		}
		was := ""
		if h.set {
			was = h.value
		}
		u.setupLine("wrote", w.key, w.value, file, was)
	}
	if c := env["GIT_SSH_COMMAND"]; c != "" && c != wants[0].value && c != "gitssh" {
		u.setupOverridden("GIT_SSH_COMMAND", c, keySSHCommand)
	}
	u.setupRepoHint(wants[0].value)
	return 0
}

// undoSetup removes the settings that still have a value --setup writes.
func undoSetup(ctx context.Context, u *ui, g gitConfig, wants []setupWant) int {
	for _, w := range wants {
		v, f, set, err := g.get(ctx, w.key)
		switch {
		case err != nil:
			u.errorf("%v", err)
			return 1
		case !set:
			u.setupLine("not set", w.key, "", "", "")
		case !slices.Contains(w.ours, v):
			u.setupLine("kept", w.key, v, f, "")
		default:
			if err := g.unset(ctx, w.key, v); err != nil {
				u.errorf("%v", err)
				return 1
			}
			u.setupLine("removed", w.key, v, f, "")
		}
	}
	return 0
}
