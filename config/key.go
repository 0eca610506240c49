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
const keyVersion = "gitssh-destination-key-v2"

// Key returns a stable hex SHA-256 of everything that decides what a
// connection is: who authenticates to which server, how it is reached, how
// the server is verified and which credentials may be offered. Two
// Destinations share a pooled connection only if their keys are equal.
//
// The keepalive settings are part of it too: they belong to the connection,
// and a command that asked for keepalives must not share one opened
// without them (behind a proxy with idle timeouts, it would be cut).
//
// Options that only affect one command or the master (SendEnv, SetEnv,
// RequestTTY, ControlMaster, ControlPersist, LogLevel, ConnectTimeout,
// Notes) are not part of the key.
func (d Destination) Key() string {
	h := sha256.New()
	writeString(h, keyVersion)
	d.writeKey(h)
	return hex.EncodeToString(h.Sum(nil))
}

func (d Destination) writeKey(h hash.Hash) {
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
		j.writeKey(h)
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
