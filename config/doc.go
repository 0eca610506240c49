// Package config turns what the user asked for (command-line flags, ssh_config
// files and OpenSSH's defaults) into an immutable Destination: everything
// needed to reach one server and to run commands on it.
//
// It reads files whose paths it is given and nothing else: no environment,
// no network, no processes. Dialing lives in package dial, connection reuse
// in package mux.
//
// # Semantics
//
// [Resolve] follows OpenSSH's ssh (readconf.c and ssh.c, version 9 and
// later): flags, then -o options, then the user@ and port of the
// destination, then ~/.ssh/config and /etc/ssh/ssh_config (or the -F file);
// the first value obtained for an option wins, except for the options that
// accumulate (IdentityFile, CertificateFile, SendEnv, the forwardings).
// Host and Match blocks, Include (globs, relative to ~/.ssh or to the system
// file's directory, in the context of the enclosing block, 16 levels deep),
// IgnoreUnknown, Tag, "Match final" (a second pass over the files, as
// OpenSSH does), token expansion per option (see TOKENS in ssh_config(5)),
// "~" and ${VAR} all behave as in ssh. The files are evaluated by this
// package rather than by github.com/kevinburke/ssh_config, which gives up
// on a whole file at the first line it cannot parse and resolves Include
// against the real home directory; only its table of OpenSSH defaults is
// used.
//
// Configuration files never make Resolve fail, unlike ssh: a line gitssh
// cannot use (an unknown keyword, a bad value, a Match criterion it cannot
// evaluate) is skipped and reported, one line each, in Destination.Notes,
// for -v. So are the options gitssh parses but does not act on, when set
// to something other than OpenSSH's default. Command-line options, values
// that cannot be expanded and ProxyJump loops are errors ([Error]), worded
// as OpenSSH words them where it has words for them.
//
// The work of one Resolve is bounded whatever the files hold (bounds.go):
// Include depth (OpenSSH's 16) and the number of files read end in notes;
// the total work (bytes and lines evaluated, pattern matching, over both
// passes and every ProxyJump hop) and the number of jump hosts end in an
// [Error] wrapping a [LimitError], so that a file including itself many
// times over fails in milliseconds instead of running for minutes.
//
// # Deliberate differences from OpenSSH
//
//   - Keepalives are on by default ([DefaultServerAliveInterval]), gitssh
//     multiplexes by default ([DefaultControlMaster]) and its master
//     persists ([DefaultControlPersist]); ControlPath is accepted and kept
//     but gitssh uses its own socket.
//   - Match exec, localnetwork, command, sessiontype and version are not
//     evaluated (exec would run a command, the others need what this
//     package does not see): a Match line that depends on one does not
//     match, and a note says so.
//   - Host names are never canonicalized (CanonicalizeHostname is
//     reported), so "Match canonical" holds exactly in the final pass.
//   - Flags (-l, -p, -i, -4/-6, -v/-q) win over -o options whatever their
//     order on the command line; with -v and -q, -v wins.
//   - "[::1]" as a destination means the address ::1 (OpenSSH keeps the
//     brackets), and "ssh://[::1]:22" is accepted (OpenSSH 9 rejects it).
//     Ports are numbers only (no /etc/services names).
//   - StrictHostKeyChecking also accepts "on" (as "yes").
//   - ${VAR} treats an empty variable as unset.
package config
