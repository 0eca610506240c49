package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gitssh/gitssh/internal/testworld"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: world up DIR [-max-sessions N] [-max-startups S] [-repos N] [-port N] [-extra LINE]...
       world down DIR
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "up":
		err = up(args[1:], stdout, stderr)
	case "down":
		err = down(args[1:])
	default:
		fmt.Fprint(stderr, usage)
		return 2
	}
	if err == errUsage {
		fmt.Fprint(stderr, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "world: %v\n", err)
		return 1
	}
	return 0
}

var errUsage = fmt.Errorf("usage")

type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, "\n") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

// parse parses flags that may come before or after the positional
// arguments (the flag package alone stops at the first positional one).
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, errUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func up(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("world up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts testworld.SSHDOptions
	fs.IntVar(&opts.MaxSessions, "max-sessions", 0, "sshd MaxSessions (0: sshd's default, 10)")
	fs.StringVar(&opts.MaxStartups, "max-startups", "", "sshd MaxStartups (empty: sshd's default)")
	fs.IntVar(&opts.Port, "port", 0, "port on 127.0.0.1 (0: a free one)")
	fs.Var((*stringsFlag)(&opts.Extra), "extra", "an extra sshd_config line (repeatable)")
	repos := fs.Int("repos", 2, "number of bare repositories r1.git ... to create")
	pos, err := parse(fs, args)
	if err != nil || len(pos) != 1 {
		return errUsage
	}
	dir, err := filepath.Abs(pos[0])
	if err != nil {
		return err
	}
	sshdDir := filepath.Join(dir, "sshd")
	if pid := testworld.RunningPid(sshdDir); pid != 0 {
		return fmt.Errorf("a world is already up in %s (sshd pid %d); run: world down %s", dir, pid, pos[0])
	}
	if missing := testworld.MissingTools("sshd", "ssh-keygen", "git"); len(missing) > 0 {
		return fmt.Errorf("missing %s (scripts/test installs them)", strings.Join(missing, ", "))
	}
	reposDir := filepath.Join(dir, "repos")
	if err := os.RemoveAll(reposDir); err != nil {
		return err
	}
	if _, err := testworld.MakeRepos(reposDir, *repos); err != nil {
		return err
	}
	opts.Detach = true
	s, err := testworld.StartSSHD(sshdDir, opts)
	if err != nil {
		return err
	}
	c, err := testworld.NewClientFiles(filepath.Join(dir, "client"))
	if err == nil {
		err = c.AddServer(testworld.DefaultAlias, s)
	}
	if err != nil {
		s.Stop()
		return err
	}
	vars := []struct{ name, value string }{
		{"WORLD_DIR", dir},
		{"PORT", fmt.Sprint(s.Port())},
		{"SSHCONFIG", c.SSHConfig},
		{"KEY", c.Key},
		{"PKEY", c.PassphraseKey},
		{"PASSPHRASE", testworld.Passphrase},
		{"BADKEY", c.BadKey},
		{"KNOWNHOSTS", c.KnownHosts},
		{"REPOS", reposDir},
		{"USER_NAME", c.User},
		{"SSHD_LOG", s.LogPath()},
	}
	fmt.Fprintf(stdout, "# gitssh test world: sshd pid %d on 127.0.0.1:%d; stop it with: world down %s\n", s.Pid(), s.Port(), shellQuote(dir))
	fmt.Fprintf(stdout, "# ssh -F \"$SSHCONFIG\" %s    GIT_SSH_COMMAND=\"gitssh -F $SSHCONFIG\" git clone %s:\"$REPOS\"/r1.git\n", testworld.DefaultAlias, testworld.DefaultAlias)
	for _, v := range vars {
		fmt.Fprintf(stdout, "export %s=%s\n", v.name, shellQuote(v.value))
	}
	return nil
}

func down(args []string) error {
	if len(args) != 1 {
		return errUsage
	}
	return testworld.StopDir(filepath.Join(args[0], "sshd"))
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
