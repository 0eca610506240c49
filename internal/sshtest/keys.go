package sshtest

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/pem"
	"fmt"

	"golang.org/x/crypto/ssh"
)

// The keys are derived from fixed seeds, so they are the same in every
// process: a known_hosts line or authorized_keys file written by one test run
// stays valid for the next. They protect nothing.
const (
	hostSeed      = "gitssh sshtest host key"
	userSeed      = "gitssh sshtest user key"
	otherUserSeed = "gitssh sshtest other user key"
)

func privateKey(seed string) ed25519.PrivateKey {
	s := sha256.Sum256([]byte(seed))
	return ed25519.NewKeyFromSeed(s[:])
}

func signer(seed string) ssh.Signer {
	s, err := ssh.NewSignerFromKey(privateKey(seed))
	if err != nil {
		panic(fmt.Sprintf("sshtest: %v", err)) // cannot happen for ed25519
	}
	return s
}

// HostSigner returns the ed25519 host key every [Server] presents.
func HostSigner() ssh.Signer { return signer(hostSeed) }

// UserSigner returns the ed25519 user key every [Server] accepts.
func UserSigner() ssh.Signer { return signer(userSeed) }

// OtherUserSigner returns an ed25519 user key that no [Server] accepts.
func OtherUserSigner() ssh.Signer { return signer(otherUserSeed) }

// UserKeyPEM returns [UserSigner]'s private key in OpenSSH's PEM format, as
// ssh-keygen writes it, for tests that need an IdentityFile on disk. Write it
// with mode 0600.
func UserKeyPEM() []byte {
	block, err := ssh.MarshalPrivateKey(privateKey(userSeed), "sshtest user")
	if err != nil {
		panic(fmt.Sprintf("sshtest: %v", err)) // cannot happen for ed25519
	}
	return pem.EncodeToMemory(block)
}
