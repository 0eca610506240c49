// Package dial makes one authenticated SSH connection from a
// config.Destination: the transport (TCP, ProxyCommand or a ProxyJump chain),
// host-key verification against known_hosts, and client authentication
// (ssh-agent, identity files, certificates, passwords).
//
// It knows nothing of pools, control sockets or which process it runs in:
// package mux decides when to dial and what to do with the connection, and
// the gitssh command decides what the user is told. Anything that needs the
// user goes through the Prompter the caller supplies.
package dial
