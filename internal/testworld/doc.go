// Package testworld builds a private, real OpenSSH world in a directory: an
// sshd on 127.0.0.1 with its own host keys, sshd_config and authorized_keys,
// client keys (plain, passphrase-protected and one the servers refuse), a
// known_hosts and an ssh_config that point at those servers, bare git
// repositories with history, and an ssh-agent holding a key. Servers that
// are not OpenSSH show behaviours sshd does not: dropbear ([StartDropbear],
// whose idle timeout ignores global requests) and tinysshd
// ([StartTinySSHD], one session per connection), both from Debian's
// packages and run under nss_wrapper with a private home. The servers run
// in the foreground (sshd, dropbear, HAProxy) share the small daemon type
// (start, readiness, stop, log tail).
//
// Nothing it does touches the real ~/.ssh or the system's sshd: every file
// lives under the directory the caller passes, every server listens on
// 127.0.0.1 on a port that is not 22, and every process it starts is owned
// by a value with a Stop method. It works as root (the servers log in root)
// and as an ordinary user (the servers run as that user and admit only it).
//
// The package is for tests and for the scripts in scripts/: production
// packages must not import it. It does not drive gitssh itself; the
// testscript commands that do live in cmd/gitssh/main_test.go, and
// scripts/world wraps this package for shell scripts. It deliberately does
// not import "testing" (see [TB]) so that scripts/world stays an ordinary
// program.
package testworld
