// Package sshtest provides the in-process SSH server that gitssh's unit tests
// run against: fixed host and user keys, a tiny built-in command interpreter
// for exec requests, and fault injection modelled on real servers (channel
// limits and refusal reasons, one channel per connection, one session per
// connection, git-only ports, servers that ignore keepalives or count only
// channel traffic as activity, dropped connections).
//
// It is imported from _test.go files only; a dependency test fails the build
// if production code imports it (STYLE.md rule 1). It deliberately runs no
// real shell and no real git: tests that need OpenSSH's sshd or git use the
// test world under scripts/ (see internal/testworld).
//
// # Servers and transports
//
// [NewServer] listens on 127.0.0.1 and serves real TCP connections.
// [NewPipeServer] has no listener and serves in-memory [Pipe] connections
// only; it is the one to use inside a testing/synctest bubble, where network
// I/O would stop the fake clock (create it inside the bubble). Both are closed, and every goroutine they
// started has ended, by the time the test's cleanup returns. [Transports]
// lists both, for tests that should run over each. For peers that do not
// speak SSH (an agent socket, a control socket, a server that never
// answers), [Serve] and [Listen] accept and serve plain connections and
// close them all when the test ends.
//
// # Commands
//
// An exec request runs one of these commands (arguments are split on spaces;
// there is no quoting):
//
//	echo ARGS...   write ARGS joined by spaces and a newline to stdout, exit 0
//	cat            copy stdin to stdout until EOF, exit 0
//	exit N         exit with status N
//	env NAME       print the value received for NAME in an env request, exit 0;
//	               exit 1 with no output if none was received
//	sleep DUR      wait DUR (a Go duration, or seconds), exit 0
//	stderr TEXT    write TEXT and a newline to stderr, exit 0
//	signal SIG     end with exit-signal SIG (e.g. KILL), no exit status
//	noexit         close the channel without an exit status
//	hang           do nothing until the client closes the channel or the
//	               server is closed
//	barrier N      wait until N barrier commands are waiting on the server
//	               at once (this one included), then exit 0; so every
//	               one of them was running at the same time. Until then
//	               it waits as hang does
//	drop [N]       write N bytes of [Pattern] to stdout (default 0), then
//	               close the whole connection without a goodbye
//	bytes N        write N bytes of [Pattern] to stdout, exit 0
//	readdrop N     read N bytes of stdin (less at EOF), then close the whole
//	               connection without a goodbye, having sent nothing
//
// Anything else writes "sshtest: NAME: command not found" to stderr and exits
// 127. A shell request gets GitHub's answer (a message on stderr, exit 1)
// unless [Options.RefuseShell] is set.
//
// Before a command ends, the server frees its channel slot (see
// [Options.MaxChannelsPerConn]), then sends EOF, the exit status or signal,
// and closes the channel. A channel the client closes frees its slot before
// any later channel open is decided. So channel limits are deterministic: a
// client that has seen an exit status, or has seen its channel closed
// (Session.Wait returned), can always open another channel at once.
package sshtest
