package main

// Every message gitssh shows a person is written here, to stderr; stdout
// carries nothing but the remote command's bytes (or -G's output). Rules:
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
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gitssh/gitssh/config"
	"github.com/gitssh/gitssh/dial"
	"github.com/gitssh/gitssh/mux"
)

const exitTransport = 255

type ui struct {
	stderr  io.Writer
	verbose int  // number of -v flags, or the LogLevel's debug depth
	quiet   bool // -q or LogLevel QUIET/FATAL/ERROR: no warnings
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

// setLogLevel applies a Destination's LogLevel.
func (u *ui) setLogLevel(level string) {
	switch strings.ToUpper(level) {
	case "QUIET", "FATAL", "ERROR":
		u.quiet = true
	case "DEBUG", "DEBUG1":
		u.verbose = max(u.verbose, 1)
	case "DEBUG2":
		u.verbose = max(u.verbose, 2)
	case "DEBUG3":
		u.verbose = max(u.verbose, 3)
	}
}

const usageText = `usage: gitssh [-46GTnqvV] [-F configfile] [-i identity_file] [-J destination]
              [-l login_name] [-O ctl_cmd] [-o option] [-p port]
              destination [command [argument ...]]
       gitssh --setup [--force | --undo]
`

func (u *ui) usage(err error) int {
	fmt.Fprintf(u.stderr, "gitssh: %v\n%s", err, usageText)
	return exitTransport
}

// Report words err for the user and returns the exit status for it.
func (u *ui) Report(err error, d config.Destination) int {
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
	return exitTransport
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
