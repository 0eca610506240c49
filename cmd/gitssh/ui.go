package main

// Every message gitssh shows a person is written here: errors, warnings
// and debug lines on stderr, and what the user asked to see (--help, -V,
// -O status) where OpenSSH prints it. Otherwise stdout carries nothing but
// the remote command's bytes (or -G's output). Rules:
//
//   - Where OpenSSH has a message users and scripts know, use its words
//     (with "gitssh" where ssh names itself): "connect to host H port P:
//     Connection refused", "user@host: Permission denied (publickey).",
//     "Host key verification failed.".
//   - Otherwise: a "gitssh: " prefix, lowercase, no trailing period, and an
//     optional "gitssh: hint: ..." line that says what to do.
//   - Debug lines ("debug1: ...") appear only under -v.
//   - The exit status is the remote command's, or 255 for a failure of the
//     transport, as with ssh.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gitssh/gitssh/config"
	"github.com/gitssh/gitssh/dial"
	"github.com/gitssh/gitssh/mux"
)

type ui struct {
	stderr  io.Writer
	verbose int  // number of -v flags, or the LogLevel's debug depth
	quiet   bool // -q or LogLevel QUIET/FATAL/ERROR: no warnings
}

// newUI speaks to the user of a command to d, as its LogLevel says.
func newUI(stderr io.Writer, d config.Destination) *ui {
	return &ui{stderr: stderr, verbose: d.DebugLevel(), quiet: d.Quiet()}
}

func (u *ui) Debugf(format string, args ...any) {
	if u.verbose > 0 {
		fmt.Fprintf(u.stderr, "debug1: "+format+"\n", args...)
	}
}

func (u *ui) Warnf(format string, args ...any) {
	if !u.quiet {
		fmt.Fprintf(u.stderr, format+"\n", args...)
	}
}

func (u *ui) errorf(format string, args ...any) {
	fmt.Fprintf(u.stderr, "gitssh: "+format+"\n", args...)
}

const usageText = `usage: gitssh [-46GTnqvV] [-F configfile] [-i identity_file] [-J destination]
              [-l login_name] [-O ctl_cmd] [-o option] [-p port]
              destination [command [argument ...]]
       gitssh --setup [--force | --undo]
`

const helpText = `gitssh: the ssh for git. Set it up as git's ssh command with

    gitssh --setup          # core.sshCommand and ssh.variant in your global git config
    export GIT_SSH=gitssh   # as well, for Android repo (see README)

or export GIT_SSH_COMMAND=gitssh (git then runs "gitssh -G" before every command).

It takes ssh's command line and honours ~/.ssh/config, known_hosts and
ssh-agent; each command runs as a channel of a connection kept open by a
per-user background master, so hundreds of git commands share a handful of
handshakes.

` + usageText + `
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

func (u *ui) usage(err error) int {
	fmt.Fprintf(u.stderr, "gitssh: %v\n%s", err, usageText)
	return mux.ExitStatusLost
}

// help prints --help, on stdout as ssh prints its usage.
func (u *ui) help(stdout io.Writer) { fmt.Fprint(stdout, helpText) }

// version prints -V, on stderr as ssh -V does.
func (u *ui) version(v string) { fmt.Fprintf(u.stderr, "gitssh %s\n", v) }

// Report words the error that ended a command.
func (u *ui) Report(err error, d config.Destination) {
	var (
		connectErr  *dial.ConnectError
		resolveErr  *dial.ResolveError
		authErr     *dial.AuthError
		hostKeyErr  *dial.HostKeyError
		handshake   *dial.HandshakeError
		refused     *mux.ChannelRefusedError
		execRefused *mux.ExecRefusedError
		lost        *mux.ConnectionLostError
	)
	switch {
	case errors.As(err, &hostKeyErr):
		u.hostKeyMessage(hostKeyErr, d)
	case errors.As(err, &authErr):
		fmt.Fprintf(u.stderr, "%s\n", authErr.Error())
	case errors.As(err, &connectErr):
		u.errorf("%v", connectErr)
	case errors.As(err, &resolveErr):
		u.errorf("%v", resolveErr)
	case errors.As(err, &handshake):
		u.errorf("%v", handshake)
		if handshake.BeforeKex {
			fmt.Fprintf(u.stderr, "Connection closed by %s port %s\n", handshake.Host, handshake.Port)
		}
	case errors.Is(err, mux.ErrShellRefused):
		u.shellRefused(d)
	case errors.As(err, &execRefused):
		u.errorf("exec request failed on channel 0")
	case errors.As(err, &refused):
		u.errorf("channel 0: open failed: %s: %s", refused.Reason, refused.Message)
	case errors.As(err, &lost):
		fmt.Fprintf(u.stderr, "%s\n", lost.Error())
	case errors.Is(err, mux.ErrMasterExited):
		u.errorf("the gitssh master was told to exit (gitssh -O exit) while the command ran")
	case errors.Is(err, mux.ErrMasterLost):
		u.errorf("the gitssh master went away while the command ran; its outcome is unknown")
		u.errorf("hint: the next command starts a new master; its log is master.log in the control directory")
	default:
		u.errorf("%v", err)
	}
}

// shellRefused explains a git-only server (Bitbucket Server's port 7999,
// Gerrit, gitolite) that accepted the login but will not start a shell,
// which OpenSSH reports as "dispatch_protocol_error: type 100 seq 8".
func (u *ui) shellRefused(d config.Destination) {
	url := "ssh://"
	if d.User != "" {
		url += d.User + "@"
	}
	url += d.Alias
	if d.Port != 22 {
		url += ":" + strconv.Itoa(d.Port)
	}
	u.errorf("%s only runs git commands, it has no shell: use it through git, as in: git clone %s/PATH/TO/REPO.git", d.Alias, url)
}

// hostKeyMessage prints OpenSSH's host-key warnings, ending with "Host key
// verification failed.".
func (u *ui) hostKeyMessage(e *dial.HostKeyError, d config.Destination) {
	w := u.stderr
	switch e.Problem {
	case dial.HostKeyChanged:
		fmt.Fprintf(w, "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n")
		fmt.Fprintf(w, "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n")
		fmt.Fprintf(w, "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n")
		fmt.Fprintf(w, "IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\n")
		fmt.Fprintf(w, "Someone could be eavesdropping on you right now (man-in-the-middle attack)!\n")
		fmt.Fprintf(w, "It is also possible that a host key has just been changed.\n")
		fmt.Fprintf(w, "The fingerprint for the %s key sent by the remote host is\n%s.\n", e.KeyType, e.Fingerprint)
		fmt.Fprintf(w, "Please contact your system administrator.\n")
		fmt.Fprintf(w, "Add correct host key in %s to get rid of this message.\n", e.AddFile)
		fmt.Fprintf(w, "Offending key in %s:%d\n", e.KnownFile, e.KnownLine)
		fmt.Fprintf(w, "Host key for %s has changed and you have requested strict checking.\n", e.Host)
	case dial.HostKeyRevoked:
		fmt.Fprintf(w, "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n")
		fmt.Fprintf(w, "@       WARNING: REVOKED HOST KEY DETECTED!               @\n")
		fmt.Fprintf(w, "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n")
		fmt.Fprintf(w, "The %s host key for %s is marked as revoked.\n", e.KeyType, e.Host)
		fmt.Fprintf(w, "This could mean that a stolen key is being used to\n")
		fmt.Fprintf(w, "impersonate this host.\n")
	case dial.HostKeyUnknown:
		fmt.Fprintf(w, "No %s host key is known for %s and you have requested strict checking.\n", e.KeyType, e.Host)
	}
	fmt.Fprintf(w, "Host key verification failed.\n")
}

// controlFailed words a -O request the master could not answer.
func (u *ui) controlFailed(socket string, err error) {
	if errors.Is(err, mux.ErrMasterUnavailable) {
		fmt.Fprintf(u.stderr, "Control socket connect(%s): No such file or directory\n", socket)
		return
	}
	u.errorf("%v", err)
}

// controlDone prints a -O request's answer in OpenSSH's words; status and
// status-json print the master's statistics on stdout.
func (u *ui) controlDone(command string, pid int, st *mux.MasterStatus, stdout io.Writer) {
	switch command {
	case "check":
		fmt.Fprintf(u.stderr, "Master running (pid=%d)\n", pid)
	case "exit":
		fmt.Fprintf(u.stderr, "Exit request sent.\n")
	case "stop":
		fmt.Fprintf(u.stderr, "Stop listening request sent.\n")
	case "status":
		writeStatus(stdout, st)
	case "status-json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(st)
	}
}

// writeStatus formats -O status for people: a line per destination, and
// under it what was learned about the server, in words.
func writeStatus(w io.Writer, s *mux.MasterStatus) {
	if s == nil {
		return
	}
	fmt.Fprintf(w, "master pid %d, version %s, up %s, %d commands running\n", s.PID, s.Version, s.Uptime, s.Running)
	fmt.Fprintf(w, "%-32s %5s %5s %5s %8s %6s %7s %6s %10s %10s\n", "DESTINATION", "CONNS", "OPEN", "WARM", "COMMANDS", "DIALS", "SAVED", "AGAIN", "IN", "OUT")
	for _, p := range s.Pools {
		fmt.Fprintf(w, "%-32s %5d %5d %5d %8d %6d %7d %6d %10d %10d\n", p.Destination, p.Conns, p.Open, p.WarmOpen, p.Commands, p.Dials, p.Commands-p.Dials, p.Redelivered, p.BytesIn, p.BytesOut)
		fmt.Fprintf(w, "  learned: %s\n", learned(p))
	}
}

// learned says what the master knows of a destination's server.
func learned(p mux.PoolStats) string {
	var facts []string
	switch {
	case p.OneSession:
		facts = append(facts, "one session per connection, ever")
	case p.NoReuse:
		facts = append(facts, "a connection is not reused after its channel closes")
	case p.Limit > 0:
		facts = append(facts, fmt.Sprintf("at most %d channels per connection", p.Limit))
	default:
		facts = append(facts, "no channel limit seen")
	}
	if p.NoWarm {
		facts = append(facts, "takes no channels opened ahead")
	}
	if p.Refusals > 0 {
		facts = append(facts, fmt.Sprintf("%d channel refusals", p.Refusals))
	}
	return strings.Join(facts, "; ")
}

// setupLine reports what gitssh --setup did with one git setting: "wrote"
// (was: the value it replaced, with --force), "already set", "removed",
// "kept" (--undo: a value --setup does not write) or "not set".
func (u *ui) setupLine(what, key, value, file, was string) {
	switch what {
	case "wrote":
		if was != "" {
			fmt.Fprintf(u.stderr, "gitssh: wrote %s = %s to %s (it was %q)\n", key, value, file, was)
			return
		}
		fmt.Fprintf(u.stderr, "gitssh: wrote %s = %s to %s\n", key, value, file)
	case "already set":
		fmt.Fprintf(u.stderr, "gitssh: already set: %s = %s in %s\n", key, value, file)
	case "removed":
		fmt.Fprintf(u.stderr, "gitssh: removed %s = %s from %s\n", key, value, file)
	case "kept":
		fmt.Fprintf(u.stderr, "gitssh: kept %s = %s in %s: gitssh --setup does not write that value\n", key, value, file)
	case "not set":
		fmt.Fprintf(u.stderr, "gitssh: %s is not set in the global git config: nothing to remove\n", key)
	}
}

// setupRefused says why gitssh --setup changed nothing.
func (u *ui) setupRefused(e *setupRefusedError) {
	u.errorf("%v: not replaced (gitssh --setup --force replaces it)", e)
}

// setupOverridden warns that an exported variable wins over the setting.
func (u *ui) setupOverridden(name, value, key string) {
	u.errorf("hint: %s=%s is exported here and wins over %s: unset it to use gitssh", name, value, key)
}

// setupRepoHint is the one line Android repo users still need: repo
// starts its own ssh masters unless GIT_SSH is set.
func (u *ui) setupRepoHint(command string) {
	if strings.ContainsAny(command, " \t'\"$\\`") {
		command = "'" + strings.ReplaceAll(command, "'", `'\''`) + "'"
	}
	u.errorf("hint: for Android repo, also put in your shell profile: export GIT_SSH=%s", command)
}
