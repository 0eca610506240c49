// The gitssh command is the ssh that git runs (GIT_SSH_COMMAND=gitssh): it
// takes OpenSSH's command line, honours ssh_config, known_hosts and
// ssh-agent, and runs each git command as a channel of a connection kept by
// a per-user master, or on a connection of its own in direct mode.
//
// This package parses the command line, chooses master or direct mode and
// words every message the user sees (ui.go). Sessions and connections belong
// to package mux, configuration to package config.
package main
