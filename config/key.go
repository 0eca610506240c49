package config

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"strconv"
)

// keyVersion changes when the encoding below changes, so that keys of
// different gitssh versions never collide.
const keyVersion = "gitssh-destination-key-v3"

// Key returns a stable hex SHA-256 of everything that decides what a
// connection is: who authenticates to which server, how it is reached, how
// the server is verified and which credentials may be offered, for the
// destination and for every ProxyJump hop. It leaves out the agent socket
// taken from the environment, which the Destination does not hold: pools
// are named by [Destination.PoolKey], which adds it.
//
// The rule for what is in the key: an option is in it when it changes what
// the connection is, or what its dial writes on disk, because a pooled
// connection is dialled once for every command that shares it. An option
// that only matters while one command runs, or that the dial of the
// requesting command applies for itself, is not. So:
//
//   - In the key: User, HostName, Port, ProxyCommand, the ProxyJump hops
//     (each with everything listed here, and its agent socket in PoolKey),
//     IdentityFile (and whether it is the default list), IdentitiesOnly,
//     IdentityAgent, CertificateFile, UserKnownHostsFile,
//     GlobalKnownHostsFile, StrictHostKeyChecking, HostKeyAlias,
//     HostKeyAlgorithms, AddressFamily, the authentication methods and
//     NumberOfPasswordPrompts, BatchMode, and HashKnownHosts: the dial
//     that records a new host key writes it hashed or not, and a command
//     that asked for hashed entries must not share a connection whose dial
//     wrote, or would write, the host in plain text.
//   - In the key too: the keepalive settings (ServerAliveInterval,
//     ServerAliveCountMax, TCPKeepAlive). They belong to the connection
//     for as long as it lives: a command that asked for keepalives must not
//     share one opened without them (behind a proxy with idle timeouts, it
//     would be cut), and one that turned them off gets a connection of its
//     own.
//   - Per request, not in the key: ConnectTimeout and LogLevel (they bound
//     and word the dial made for the requesting command, and -v or -q on
//     one command must not split the pool), SendEnv, SetEnv, RequestTTY,
//     ControlMaster, ControlPersist, ControlPath and Notes.
func (d Destination) Key() string {
	h := sha256.New()
	writeString(h, keyVersion)
	d.writeKey(h, nil)
	return hex.EncodeToString(h.Sum(nil))
}

// PoolKey names the pool a command may share: its [Destination.Key] and,
// for the destination and every ProxyJump hop, the agent socket that hop
// authenticates with ([Destination.AgentSocket] of authSockEnv, the
// client's SSH_AUTH_SOCK). Two commands share a connection only if every
// hop would have authenticated the same way.
func (d Destination) PoolKey(authSockEnv string) string {
	h := sha256.New()
	writeString(h, keyVersion+"/pool")
	d.writeKey(h, &authSockEnv)
	return hex.EncodeToString(h.Sum(nil))
}

// AgentSocket is the ssh-agent socket d authenticates with, given the
// client's SSH_AUTH_SOCK: none for "IdentityAgent none", the environment's
// value when IdentityAgent is unset or SSH_AUTH_SOCK, else IdentityAgent's
// expanded path. "" means no agent.
func (d Destination) AgentSocket(authSockEnv string) string {
	switch d.IdentityAgent {
	case "none":
		return ""
	case "", "SSH_AUTH_SOCK":
		return authSockEnv
	}
	return d.IdentityAgent
}

// writeKey writes d's key fields, its hops' included; with authSockEnv,
// each one's agent socket too.
func (d Destination) writeKey(h hash.Hash, authSockEnv *string) {
	field := func(name string, values ...string) {
		writeString(h, name)
		writeUint(h, uint64(len(values)))
		for _, v := range values {
			writeString(h, v)
		}
	}
	field("user", d.User)
	field("hostname", d.HostName)
	field("port", strconv.Itoa(d.Port))
	field("proxycommand", d.ProxyCommand)
	field("jumps", strconv.Itoa(len(d.Jumps)))
	for _, j := range d.Jumps {
		j.writeKey(h, authSockEnv)
	}
	field("identityfiles", d.IdentityFiles...)
	field("defaultidentityfiles", strconv.FormatBool(d.DefaultIdentityFiles))
	field("identitiesonly", strconv.FormatBool(d.IdentitiesOnly))
	field("identityagent", d.IdentityAgent)
	field("certificatefiles", d.CertificateFiles...)
	field("userknownhostsfiles", d.UserKnownHostsFiles...)
	field("globalknownhostsfiles", d.GlobalKnownHostsFiles...)
	field("stricthostkeychecking", d.StrictHostKeyChecking)
	field("hostkeyalias", d.HostKeyAlias)
	field("hostkeyalgorithms", d.HostKeyAlgorithms...)
	field("addressfamily", d.AddressFamily)
	field("passwordauthentication", strconv.FormatBool(d.PasswordAuthentication))
	field("kbdinteractiveauthentication", strconv.FormatBool(d.KbdInteractiveAuthentication))
	field("pubkeyauthentication", strconv.FormatBool(d.PubkeyAuthentication))
	field("numberofpasswordprompts", strconv.Itoa(d.NumberOfPasswordPrompts))
	field("batchmode", strconv.FormatBool(d.BatchMode))
	field("serveraliveinterval", d.ServerAliveInterval.String())
	field("serveralivecountmax", strconv.Itoa(d.ServerAliveCountMax))
	field("tcpkeepalive", strconv.FormatBool(d.TCPKeepAlive))
	field("hashknownhosts", strconv.FormatBool(d.HashKnownHosts))
	if authSockEnv != nil {
		field("agentsocket", d.AgentSocket(*authSockEnv))
	}
}

// writeString writes s length-prefixed, so that no two field lists encode
// the same.
func writeString(h hash.Hash, s string) {
	writeUint(h, uint64(len(s)))
	h.Write([]byte(s))
}

func writeUint(h hash.Hash, n uint64) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	h.Write(b[:])
}
