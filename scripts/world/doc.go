// The world command starts and stops a private OpenSSH world for shell
// scripts (demos, benchmarks against OpenSSH): an sshd on 127.0.0.1 that
// keeps running after the command returns, client keys, a known_hosts, an
// ssh_config with the Host alias "gitserver", and bare git repositories.
//
// Usage:
//
//	eval "$(go run ./scripts/world up DIR [-max-sessions N] [-max-startups S] [-repos N] [-port N] [-extra 'sshd_config line']...)"
//	GIT_SSH_COMMAND="gitssh -F $SSHCONFIG" git clone gitserver:$REPOS/r1.git
//	go run ./scripts/world down DIR
//
// up prints shell export lines (PORT, SSHCONFIG, KEY, PKEY, PASSPHRASE,
// BADKEY, KNOWNHOSTS, REPOS, USER_NAME, SSHD_LOG, WORLD_DIR) and returns
// with sshd running detached, its pid in DIR/sshd/sshd.pid. down kills that
// sshd and every connection it accepted. The files stay in DIR.
//
// The world itself is built by internal/testworld, which the end-to-end
// tests use too; this command only wraps it.
package main
