// Package mux runs git's commands on SSH connections: one per command in
// direct mode, or multiplexed as channels of pooled connections held by a
// long-lived per-user master.
//
// It owns the session (environment, exec, the copy of stdin, stdout and
// stderr, the exit status), the master and its control socket, and the pool.
// It does not read ssh_config (package config does), make connections
// (package dial does), or talk to the user: errors are returned, typed, and
// the gitssh command words them.
//
// The control protocol between a client and the master is specified in
// PROTOCOL.md beside this file.
package mux
