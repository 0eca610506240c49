package config

import (
	"regexp"
	"strings"
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
		{"different ConnectTimeout", Request{Destination: "bb", Options: []string{"ConnectTimeout=2"}}},
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
		{"hashed known_hosts entries", Request{Destination: "bb", Options: []string{"HashKnownHosts=yes"}}},
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

func TestPoolKeyCoversEveryHopsAgent(t *testing.T) {
	w := newWorld(t)
	// The destination never uses an agent; the jump host uses SSH_AUTH_SOCK.
	w.userConfig("Host h\n  IdentityAgent none\n  ProxyJump gw\n")
	d := w.resolve(dest("h"))
	if got := d.AgentSocket("/tmp/agent.sock"); got != "" {
		t.Fatalf("AgentSocket of h = %q, want none", got)
	}
	if got := d.Jumps[0].AgentSocket("/tmp/agent.sock"); got != "/tmp/agent.sock" {
		t.Fatalf("AgentSocket of gw = %q, want the environment's", got)
	}
	with, without := d.PoolKey("/tmp/agent.sock"), d.PoolKey("")
	if with == without {
		t.Errorf("PoolKey with an agent = PoolKey without = %s: the jump host's agent is not in the key", with)
	}
	if d.PoolKey("/tmp/agent.sock") != with {
		t.Errorf("PoolKey is not stable")
	}
	if with == d.Key() {
		t.Errorf("PoolKey = Key")
	}
}

func TestAgentSocket(t *testing.T) {
	tests := []struct {
		agent, env, want string
	}{
		{"", "/env.sock", "/env.sock"},
		{"SSH_AUTH_SOCK", "/env.sock", "/env.sock"},
		{"none", "/env.sock", ""},
		{"/other.sock", "/env.sock", "/other.sock"},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := (Destination{IdentityAgent: tt.agent}).AgentSocket(tt.env); got != tt.want {
			t.Errorf("Destination{IdentityAgent: %q}.AgentSocket(%q) = %q, want %q", tt.agent, tt.env, got, tt.want)
		}
	}
}

func TestRelativePathsAreMadeAbsolute(t *testing.T) {
	w := newWorld(t)
	w.env.WorkDir = "/work/client"
	w.userConfig("Host h\n  UserKnownHostsFile kh ~/.ssh/kh2\n  GlobalKnownHostsFile gkh\n  CertificateFile certs/c.pub\n  IdentityAgent agent.sock\n  ProxyJump gw\nHost gw\n  IdentityFile gwkey\n")
	d := w.resolve(Request{Destination: "h", Identities: []string{"deploy", "~/.ssh/id"}})
	check := func(name string, got, want []string) {
		t.Helper()
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	check("IdentityFiles", d.IdentityFiles, []string{"/work/client/deploy", w.home + "/.ssh/id"})
	check("UserKnownHostsFiles", d.UserKnownHostsFiles, []string{"/work/client/kh", w.home + "/.ssh/kh2"})
	check("GlobalKnownHostsFiles", d.GlobalKnownHostsFiles, []string{"/work/client/gkh"})
	check("CertificateFiles", d.CertificateFiles, []string{"/work/client/certs/c.pub"})
	check("IdentityAgent", []string{d.IdentityAgent}, []string{"/work/client/agent.sock"})
	check("jump IdentityFiles", d.Jumps[0].IdentityFiles, []string{"/work/client/gwkey"})

	// Two clients in different directories do not share a pool.
	w.env.WorkDir = "/elsewhere"
	if d2 := w.resolve(Request{Destination: "h", Identities: []string{"deploy", "~/.ssh/id"}}); d2.Key() == d.Key() {
		t.Errorf("Key() from /work/client = Key() from /elsewhere with relative paths")
	}

	// ssh -G shows the paths as given, expanded but not made absolute.
	var g strings.Builder
	if err := d.WriteG(&g); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"userknownhostsfile kh " + w.home + "/.ssh/kh2\n", "identityfile deploy\n", "globalknownhostsfile gkh\n"} {
		if !strings.Contains(g.String(), line) {
			t.Errorf("WriteG output lacks %q:\n%s", line, g.String())
		}
	}
}
