package config

import (
	"regexp"
	"testing"
)

func TestKey(t *testing.T) {
	w := newWorld(t)
	w.userConfig("Host bb\n  HostName bitbucket.example.com\n  Port 7999\n  User git\n")
	key := func(req Request) string {
		t.Helper()
		return w.resolve(req).Key()
	}
	base := Request{Destination: "bb"}
	k := key(base)
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(k) {
		t.Fatalf("Key() = %q, want 64 hex digits", k)
	}

	same := []struct {
		name string
		req  Request
	}{
		{"same request", base},
		{"same server by its real name", Request{Destination: "git@bitbucket.example.com", Port: "7999"}},
		{"different SendEnv", Request{Destination: "bb", Options: []string{"SendEnv=GIT_PROTOCOL"}}},
		{"different SetEnv", Request{Destination: "bb", Options: []string{"SetEnv=A=1"}}},
		{"different ControlPersist", Request{Destination: "bb", Options: []string{"ControlPersist=1h"}}},
		{"different ControlMaster and ControlPath", Request{Destination: "bb", Options: []string{"ControlMaster=no", "ControlPath=/x"}}},
		{"different LogLevel", Request{Destination: "bb", Verbose: 3}},
	}
	for _, tt := range same {
		if got := key(tt.req); got != k {
			t.Errorf("%s: Key() = %s, want %s (same connection)", tt.name, got, k)
		}
	}

	different := []struct {
		name string
		req  Request
	}{
		{"-i", Request{Destination: "bb", Identities: []string{"~/.ssh/other"}}},
		{"another -i", Request{Destination: "bb", Identities: []string{"~/.ssh/third"}}},
		{"user", Request{Destination: "other@bb"}},
		{"port", Request{Destination: "bb", Port: "7998"}},
		{"jump", Request{Destination: "bb", Options: []string{"ProxyJump=gw"}}},
		{"proxy command", Request{Destination: "bb", Options: []string{"ProxyCommand=nc %h %p"}}},
		{"identities only", Request{Destination: "bb", Options: []string{"IdentitiesOnly=yes"}}},
		{"agent", Request{Destination: "bb", Options: []string{"IdentityAgent=none"}}},
		{"certificate", Request{Destination: "bb", Options: []string{"CertificateFile=~/.ssh/c"}}},
		{"known hosts", Request{Destination: "bb", Options: []string{"UserKnownHostsFile=/dev/null"}}},
		{"strict checking", Request{Destination: "bb", Options: []string{"StrictHostKeyChecking=no"}}},
		{"host key alias", Request{Destination: "bb", Options: []string{"HostKeyAlias=x"}}},
		{"host key algorithms", Request{Destination: "bb", Options: []string{"HostKeyAlgorithms=ssh-ed25519"}}},
		{"address family", Request{Destination: "bb", AddressFamily: "inet"}},
		{"batch mode", Request{Destination: "bb", Options: []string{"BatchMode=yes"}}},
		{"password auth", Request{Destination: "bb", Options: []string{"PasswordAuthentication=no"}}},
		{"keepalive interval", Request{Destination: "bb", Options: []string{"ServerAliveInterval=1"}}},
		{"keepalive count", Request{Destination: "bb", Options: []string{"ServerAliveCountMax=1"}}},
		{"TCP keepalive", Request{Destination: "bb", Options: []string{"TCPKeepAlive=no"}}},
	}
	seen := map[string]string{k: "base"}
	for _, tt := range different {
		got := key(tt.req)
		if prev, dup := seen[got]; dup {
			t.Errorf("%s: Key() = %s, the same as %s; want a different key", tt.name, got, prev)
		}
		seen[got] = tt.name
	}
}

func TestKeyOfJumpsDependsOnHops(t *testing.T) {
	w := newWorld(t)
	w.userConfig("Host gw1\n  User a\nHost gw2\n  User b\n")
	k1 := w.resolve(dest("h", "ProxyJump=gw1")).Key()
	k2 := w.resolve(dest("h", "ProxyJump=gw2")).Key()
	if k1 == k2 {
		t.Errorf("Key() through gw1 = Key() through gw2 = %s, want different keys", k1)
	}
}
