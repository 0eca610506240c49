package config

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestResolveParsesDestinations(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name  string
		dest  string
		alias string
		user  string
		port  int
	}{
		{"plain host", "example.com", "example.com", "alice", 22},
		{"user at host", "git@example.com", "example.com", "git", 22},
		{"last at separates user", "a@b@example.com", "example.com", "a@b", 22},
		{"url", "ssh://git@example.com:7999", "example.com", "git", 7999},
		{"url without user or port", "ssh://example.com", "example.com", "alice", 22},
		{"url with empty port", "ssh://example.com:", "example.com", "alice", 22},
		{"url with trailing slash", "ssh://git@example.com:2222/", "example.com", "git", 2222},
		{"url with ipv6", "ssh://git@[::1]:2200", "::1", "git", 2200},
		{"url with ipv6 and no port", "ssh://[2001:db8::1]", "2001:db8::1", "alice", 22},
		{"url with encoded user", "ssh://a%40b@example.com", "example.com", "a@b", 22},
		{"bracketed address", "[::1]", "::1", "alice", 22},
		{"address", "192.0.2.1", "192.0.2.1", "alice", 22},
		{"case kept in alias", "GitHub.COM", "GitHub.COM", "alice", 22},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := w.resolve(Request{Destination: tt.dest})
			got := []any{d.Alias, d.User, d.Port}
			want := []any{tt.alias, tt.user, tt.port}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Resolve(%q) alias, user, port: (-want +got)\n%s", tt.dest, diff)
			}
		})
	}
}

func TestResolveRejectsBadDestinations(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		dest string
		want string
	}{
		{"", "no host name"},
		{"git@", "no host name"},
		{"@example.com", "empty user name"},
		{"-oProxyCommand=evil", "hostname contains invalid characters"},
		{"host;rm", "hostname contains invalid characters"},
		{"two words", "hostname contains invalid characters"},
		{"a,b", "hostname contains invalid characters"},
		{"ssh://example.com/path/repo.git", "a path is not allowed"},
		{"ssh://example.com:0", "bad port '0'"},
		{"ssh://example.com:65536", "bad port '65536'"},
		{"ssh://example.com:ssh", "bad port 'ssh'"},
		{"ssh://[::1", "bad host name"},
		{"ssh://[nothost]:22", "bad address"},
		{"ssh://@example.com", "empty user name"},
		{"ssh://", "bad host name"},
		{"ssh://exa$mple.com", "bad host name"},
		{"-user@example.com", "remote username contains invalid characters"},
		{"a;b@example.com", "remote username contains invalid characters"},
	}
	for _, tt := range tests {
		t.Run(tt.dest, func(t *testing.T) {
			_, err := Resolve(Request{Destination: tt.dest}, w.env)
			if err == nil {
				t.Fatalf("Resolve(%q) = nil error, want %q", tt.dest, tt.want)
			}
			if msg := configError(t, err); !strings.Contains(msg, tt.want) {
				t.Errorf("Resolve(%q) = %v, want an error containing %q", tt.dest, msg, tt.want)
			}
		})
	}
}

func TestResolvePortPrecedence(t *testing.T) {
	w := newWorld(t)
	w.userConfig("Host *\n  Port 1111\n")
	tests := []struct {
		name string
		req  Request
		want int
	}{
		{"config", Request{Destination: "h"}, 1111},
		{"url beats config", Request{Destination: "ssh://h:2222"}, 2222},
		{"-o beats url", Request{Destination: "ssh://h:2222", Options: []string{"Port=3333"}}, 3333},
		{"-p beats -o and url", Request{Destination: "ssh://h:2222", Port: "4444", Options: []string{"Port 3333"}}, 4444},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := w.resolve(tt.req).Port; got != tt.want {
				t.Errorf("Resolve(%+v).Port = %d, want %d", tt.req, got, tt.want)
			}
		})
	}
	for _, bad := range []string{"0", "65536", "abc", "-1", ""} {
		if bad == "" {
			continue
		}
		_, err := Resolve(Request{Destination: "h", Port: bad}, w.env)
		if err == nil || configError(t, err) != "Bad port '"+bad+"'" {
			t.Errorf("Resolve(-p %q) = %v, want Bad port '%s'", bad, err, bad)
		}
	}
}

func TestResolveUserPrecedence(t *testing.T) {
	w := newWorld(t)
	w.userConfig("Host h\n  User fromconfig\n")
	tests := []struct {
		name string
		req  Request
		want string
	}{
		{"config", Request{Destination: "h"}, "fromconfig"},
		{"local user by default", Request{Destination: "other"}, "alice"},
		{"user@ beats config", Request{Destination: "dest@h"}, "dest"},
		{"-o beats user@ (as in OpenSSH)", Request{Destination: "dest@h", Options: []string{"User=opt"}}, "opt"},
		{"-l beats -o and user@", Request{Destination: "dest@h", User: "flag", Options: []string{"User=opt"}}, "flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := w.resolve(tt.req).User; got != tt.want {
				t.Errorf("Resolve(%+v).User = %q, want %q", tt.req, got, tt.want)
			}
		})
	}
}

func TestResolveFirstValueWins(t *testing.T) {
	w := newWorld(t)
	w.userConfig(`
Host specific
  HostName first.example.com
  User first
  Port 1000

Host *
  HostName second.example.com
  User second
  Port 2000
  IdentityFile ~/.ssh/star
`)
	w.systemConfig("Host *\n  User system\n  ConnectTimeout 9\n  IdentityFile /etc/ssh/id_system\n")
	d := w.resolve(dest("specific"))
	got := []any{d.HostName, d.User, d.Port, d.ConnectTimeout, d.IdentityFiles}
	want := []any{"first.example.com", "first", 1000, 9 * time.Second,
		[]string{filepath.Join(w.home, ".ssh/star"), "/etc/ssh/id_system"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Resolve(specific): (-want +got)\n%s", diff)
	}
}

func TestResolveCommandLineOptionsComeFirst(t *testing.T) {
	w := newWorld(t)
	w.userConfig("Host h\n  User cfg\n  IdentityFile ~/.ssh/cfg\n  ServerAliveInterval 5\n")
	d := w.resolve(Request{
		Destination: "h",
		Identities:  []string{"~/.ssh/flag"},
		Options:     []string{"ServerAliveInterval=30", "ServerAliveInterval 40", "identityfile = /opt/key", "USER opt"},
	})
	got := []any{d.User, d.ServerAliveInterval, d.IdentityFiles}
	want := []any{"opt", 30 * time.Second, []string{
		filepath.Join(w.home, ".ssh/flag"), "/opt/key", filepath.Join(w.home, ".ssh/cfg"),
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Resolve with -o and -i: (-want +got)\n%s", diff)
	}
}

func TestResolveRejectsBadCommandLineOptions(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		opt  string
		want string
	}{
		{"Foo=bar", "command-line: line 0: Bad configuration option: foo"},
		{"Port", `command-line line 0: no argument after keyword "port"`},
		{"BatchMode=", `command-line line 0: no argument after keyword "batchmode"`},
		{"BatchMode=maybe", `command-line line 0: unsupported option "maybe".`},
		{"BatchMode=yes extra", "command-line line 0: keyword batchmode extra arguments at end of line"},
		{"Port=0", "command-line line 0: Bad port '0'."},
		{"Port=22x", "command-line line 0: Bad port '22x'."},
		{"ServerAliveInterval=abc", "command-line line 0: invalid time value."},
		{"ServerAliveCountMax=-1", "command-line line 0: integer value too small."},
		{"SetEnv=A", "command-line line 0: Invalid SetEnv."},
		{"SendEnv=A=B", "command-line line 0: Invalid environment name."},
		{"StrictHostKeyChecking=sometimes", `command-line line 0: unsupported option "sometimes".`},
		{"ControlPersist=later", "command-line line 0: Bad ControlPersist argument."},
		{"LogLevel=loud", "command-line line 0: unsupported log level 'loud'"},
		{"ProxyJump=a,,b", `command-line line 0: Invalid ProxyJump "a,,b"`},
		{`IdentityFile="unterminated`, "command-line line 0: invalid quotes"},
		{"Host=foo", "Host directive not supported as a command-line option"},
		{"Match=all", "Match directive not supported as a command-line option"},
		{"Include=other", "Include directive not supported as a command-line option"},
	}
	for _, tt := range tests {
		t.Run(tt.opt, func(t *testing.T) {
			_, err := Resolve(dest("h", tt.opt), w.env)
			if err == nil {
				t.Fatalf("Resolve(-o %q) = nil error, want %q", tt.opt, tt.want)
			}
			if got := configError(t, err); !strings.Contains(got, tt.want) {
				t.Errorf("Resolve(-o %q) = %q, want %q", tt.opt, got, tt.want)
			}
		})
	}
}

func TestResolveAcceptsGitLFSOptions(t *testing.T) {
	w := newWorld(t)
	d := w.resolve(dest("git@example.com", "ControlMaster=no", "ControlPath=/tmp/lfs-%C.sock", "SendEnv=GIT_PROTOCOL"))
	got := []any{d.ControlMaster, d.ControlPath, d.SendEnv}
	want := []any{"no", "/tmp/lfs-%C.sock", []string{"GIT_PROTOCOL"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Resolve with git-lfs options: (-want +got)\n%s", diff)
	}
	if !hasNote(d.Notes, "ControlPath", "own control socket") {
		t.Errorf("Notes = %q, want one saying ControlPath is not used", d.Notes)
	}
}

func TestResolveConfigFileFlag(t *testing.T) {
	w := newWorld(t)
	w.userConfig("Port 1111\n")
	w.systemConfig("Port 2222\nUser system\n")
	other := w.write("elsewhere/cfg", "User fromF\n")

	if got := w.resolve(Request{Destination: "h", ConfigFile: other}); got.Port != 22 || got.User != "fromF" {
		t.Errorf("Resolve(-F %s) port, user = %d, %q; want 22, fromF (both default files replaced)", other, got.Port, got.User)
	}
	if got := w.resolve(Request{Destination: "h", ConfigFile: "none"}); got.Port != 22 || got.User != "alice" {
		t.Errorf("Resolve(-F none) port, user = %d, %q; want 22, alice", got.Port, got.User)
	}
	if got := w.resolve(Request{Destination: "h"}); got.Port != 1111 || got.User != "system" {
		t.Errorf("Resolve(no -F) port, user = %d, %q; want 1111 (user file first), system", got.Port, got.User)
	}

	missing := filepath.Join(w.home, "nope")
	_, err := Resolve(Request{Destination: "h", ConfigFile: missing}, w.env)
	want := "Can't open user config file " + missing + ": no such file or directory"
	if err == nil || configError(t, err) != want {
		t.Errorf("Resolve(-F missing) = %v, want %q", err, want)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Resolve(-F missing) = %v, want errors.Is(err, fs.ErrNotExist)", err)
	}
}

func TestResolveWithoutConfigFiles(t *testing.T) {
	w := newWorld(t) // neither ~/.ssh/config nor the system file exists
	d := w.resolve(dest("example.com"))
	want := Destination{
		Alias:                        "example.com",
		HostName:                     "example.com",
		Port:                         22,
		User:                         "alice",
		IdentityFiles:                []string{w.home + "/.ssh/id_rsa", w.home + "/.ssh/id_ecdsa", w.home + "/.ssh/id_ecdsa_sk", w.home + "/.ssh/id_ed25519", w.home + "/.ssh/id_ed25519_sk"},
		DefaultIdentityFiles:         true,
		UserKnownHostsFiles:          []string{w.home + "/.ssh/known_hosts", w.home + "/.ssh/known_hosts2"},
		GlobalKnownHostsFiles:        []string{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"},
		StrictHostKeyChecking:        "ask",
		AddressFamily:                "any",
		ServerAliveInterval:          DefaultServerAliveInterval,
		ServerAliveCountMax:          DefaultServerAliveCountMax,
		TCPKeepAlive:                 true,
		PasswordAuthentication:       true,
		KbdInteractiveAuthentication: true,
		PubkeyAuthentication:         true,
		NumberOfPasswordPrompts:      3,
		ControlMaster:                DefaultControlMaster,
		ControlPersist:               DefaultControlPersist,
		LogLevel:                     "INFO",
		RequestTTY:                   "auto",
	}
	if diff := cmp.Diff(want, d, cmp.AllowUnexported(Destination{}, setting{}), ignoreSettings); diff != "" {
		t.Errorf("Resolve(example.com) with no files: (-want +got)\n%s", diff)
	}
}

var ignoreSettings = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".settings" }, cmp.Ignore())

func TestResolveHostAlias(t *testing.T) {
	w := newWorld(t)
	w.userConfig(`
# Bitbucket Server behind a bastion
Host bb
    HostName Bitbucket.Example.COM
    Port 7999
    User git
Host short-*
    HostName %h.corp.example.com
`)
	tests := []struct {
		dest     string
		hostname string
		port     int
		user     string
	}{
		{"bb", "bitbucket.example.com", 7999, "git"},
		{"short-build", "short-build.corp.example.com", 22, "alice"},
		{"other", "other", 22, "alice"},
	}
	for _, tt := range tests {
		d := w.resolve(dest(tt.dest))
		got := []any{d.Alias, d.HostName, d.Port, d.User}
		want := []any{tt.dest, tt.hostname, tt.port, tt.user}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Resolve(%q) alias, hostname, port, user: (-want +got)\n%s", tt.dest, diff)
		}
	}
}

func TestResolveHostPatterns(t *testing.T) {
	w := newWorld(t)
	w.userConfig(`
Host *.example.com !secret.example.com
  User wild
Host web?
  User one-char
Host a b
  User list
Host db1,db2
  User comma
Host *
  User star
`)
	tests := []struct{ host, user string }{
		{"www.example.com", "wild"},
		{"secret.example.com", "star"}, // negation skips the block
		{"web1", "one-char"},
		{"web", "star"}, // '?' is exactly one character
		{"web12", "star"},
		{"b", "list"},
		{"db2", "star"},             // Host patterns are separated by spaces only
		{"WWW.EXAMPLE.COM", "star"}, // Host patterns are case-sensitive
	}
	for _, tt := range tests {
		if got := w.resolve(dest(tt.host)).User; got != tt.user {
			t.Errorf("Resolve(%q).User = %q, want %q", tt.host, got, tt.user)
		}
	}
}

func TestResolveMatchCriteria(t *testing.T) {
	w := newWorld(t)
	w.userConfig(`
Host alias
  HostName real.example.com
Match host real.example.com
  SendEnv HOST
Match originalhost alias
  SendEnv ORIGINAL
Match host REAL.example.com,!nomatch
  SendEnv HOSTLIST
Match user git
  SendEnv USER_GIT
Match localuser alice
  SendEnv LOCALUSER
Match !localuser alice
  SendEnv NOT_LOCALUSER
Match host real.example.com user alice
  SendEnv BOTH
Match host=real.example.com
  SendEnv EQUALS
Match all
  SendEnv ALL
Match !all
  SendEnv NOT_ALL
Match canonical
  SendEnv CANONICAL
Match tagged ""
  SendEnv UNTAGGED
`)
	d := w.resolve(dest("git@alias"))
	want := []string{"HOST", "ORIGINAL", "HOSTLIST", "USER_GIT", "LOCALUSER", "EQUALS", "ALL", "UNTAGGED"}
	if diff := cmp.Diff(want, d.SendEnv); diff != "" {
		t.Errorf("Resolve(git@alias).SendEnv: (-want +got)\n%s", diff)
	}
}

func TestResolveMatchTagged(t *testing.T) {
	w := newWorld(t)
	w.userConfig("Tag work\nMatch tagged work,other\n  User tagged\n")
	if got := w.resolve(dest("h")).User; got != "tagged" {
		t.Errorf("Resolve(h).User = %q, want tagged", got)
	}
}

func TestResolveMatchFinalRereadsFiles(t *testing.T) {
	// The behaviour of OpenSSH 9: a "Match final" makes ssh read the files
	// again after the first pass; values of the first pass stay; Host
	// patterns then see the final host name.
	w := newWorld(t)
	w.userConfig(`
Match final all
  User finaluser
  SendEnv FINAL
  IdentityFile /final
Match canonical
  Port 1234
Host foo
  User hostuser
  HostName real.example.com
  IdentityFile /host
  SendEnv HOST
Host real.example.com
  SendEnv REAL
Match final host real.example.com
  ServerAliveInterval 9
`)
	d := w.resolve(dest("foo"))
	got := []any{d.User, d.HostName, d.Port, d.ServerAliveInterval, d.IdentityFiles, d.SendEnv}
	want := []any{"hostuser", "real.example.com", 1234, 9 * time.Second,
		[]string{"/host", "/final"}, []string{"HOST", "FINAL", "REAL"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Resolve(foo) with Match final: (-want +got)\n%s", diff)
	}
}

func TestResolveSkipsWhatItCannotEvaluate(t *testing.T) {
	w := newWorld(t)
	cfg := w.userConfig(`
Match exec "test -f /etc/corp"
  User fromexec
Match !exec "false" host h
  ProxyJump bastion
Match localnetwork 10.0.0.0/8
  Port 2
Match exec "x" host nomatch
  Port 3
Match bogus criterion
  Port 4
Host h
  User afterwards
  Port 5
`)
	d := w.resolve(dest("h"))
	if d.User != "afterwards" || d.Port != 5 || len(d.Jumps) != 0 {
		t.Errorf("Resolve(h) user, port, jumps = %q, %d, %d; want afterwards, 5, 0 (skipped blocks do not apply, later ones do)", d.User, d.Port, len(d.Jumps))
	}
	for _, want := range [][]string{
		{cfg + " line 2:", `Match exec "test -f /etc/corp" not evaluated`},
		{cfg + " line 4:", `!exec "false"`},
		{cfg + " line 6:", "localnetwork"},
		{cfg + " line 10:", "Unsupported Match attribute bogus"},
	} {
		if !hasNote(d.Notes, want...) {
			t.Errorf("Notes = %q, want one with %q", d.Notes, want)
		}
	}
	if hasNote(d.Notes, "line 8:") {
		t.Errorf("Notes = %q: an exec whose block fails anyway need not be noted", d.Notes)
	}
}

func TestResolveSkipsBadLinesWithNotes(t *testing.T) {
	w := newWorld(t)
	cfg := w.userConfig(`Host *
  UseKeychain yes
  AddKeysToAgent yes
  Port banana
  User "unterminated
  Cipher blowfish
  Port 2200
IgnoreUnknown Foo*,Bar
Host *
  FooBar 1
  bar 2
  Baz 3
  SendEnv LANG
Host other
  Unknown option here
Host
  User broken-block
`)
	d := w.resolve(dest("h"))
	if d.Port != 2200 || d.User != "alice" || !cmp.Equal(d.SendEnv, []string{"LANG"}) {
		t.Errorf("Resolve(h) port, user, sendenv = %d, %q, %q; want 2200, alice, [LANG]", d.Port, d.User, d.SendEnv)
	}
	for _, want := range []string{
		cfg + ` line 2: unsupported option "UseKeychain"`,
		cfg + ` line 3: ignoring AddKeysToAgent yes: not implemented by gitssh`,
		cfg + ` line 4: Bad port 'banana'.`,
		cfg + ` line 5: invalid quotes`,
		cfg + ` line 6: Deprecated option "cipher"`,
		cfg + ` line 12: unsupported option "Baz"`,
		cfg + ` line 16: no argument after keyword "host"`,
	} {
		if !hasNote(d.Notes, want) {
			t.Errorf("Notes = %q\nwant %q", d.Notes, want)
		}
	}
	for _, unwanted := range []string{"FooBar", `"bar"`, "line 15"} {
		if hasNote(d.Notes, unwanted) {
			t.Errorf("Notes = %q, want nothing about %s (IgnoreUnknown, or a block that does not apply)", d.Notes, unwanted)
		}
	}
}

func TestResolveNotesIgnoredOptionsOnlyWhenNotDefault(t *testing.T) {
	w := newWorld(t)
	w.userConfig("Host *\n  ForwardAgent no\n  Compression no\n  CheckHostIP no\n  ForwardX11 yes\n  LocalForward 8080 localhost:80\n")
	d := w.resolve(dest("h"))
	if !hasNote(d.Notes, "ignoring ForwardX11 yes") || !hasNote(d.Notes, "ignoring LocalForward 8080 localhost:80") {
		t.Errorf("Notes = %q, want notes for ForwardX11 yes and LocalForward", d.Notes)
	}
	for _, kw := range []string{"ForwardAgent", "Compression", "CheckHostIP"} {
		if hasNote(d.Notes, kw) {
			t.Errorf("Notes = %q, want no note for %s at its default", d.Notes, kw)
		}
	}
}

func TestResolveInclude(t *testing.T) {
	w := newWorld(t)
	w.userConfig(`
Include conf.d/*.conf
Host inc
  Include hosts/inc
Host other
  Include hosts/other
Host *
  Include ~/.ssh/abs
`)
	w.write(".ssh/conf.d/10-first.conf", "Host a\n  User from-first\n")
	w.write(".ssh/conf.d/20-second.conf", "Host a b\n  User from-second\n  Port 2000\n")
	w.write(".ssh/conf.d/ignored.txt", "Host *\n  User never\n")
	w.write(".ssh/hosts/inc", "User inc-user\nMatch host nomatch\n  Port 1\n")
	w.write(".ssh/hosts/other", "User other-user\n")
	w.write(".ssh/abs", "ConnectTimeout 4\n")

	tests := []struct {
		host string
		user string
		port int
	}{
		{"a", "from-first", 2000},
		{"b", "from-second", 2000},
		// Lines at the top of an included file belong to the including
		// block; a Match in the included file does not leak out of it.
		{"inc", "inc-user", 22},
		{"other", "other-user", 22},
		{"x", "alice", 22},
	}
	for _, tt := range tests {
		d := w.resolve(dest(tt.host))
		if d.User != tt.user || d.Port != tt.port || d.ConnectTimeout != 4*time.Second {
			t.Errorf("Resolve(%q) user, port, timeout = %q, %d, %v; want %q, %d, 4s", tt.host, d.User, d.Port, d.ConnectTimeout, tt.user, tt.port)
		}
	}
}

func TestResolveIncludeInSystemFileIsRelativeToItsDirectory(t *testing.T) {
	w := newWorld(t)
	w.systemConfig("Include ssh_config.d/*.conf\nInclude ~/.ssh/not-allowed\n")
	w.write(filepath.Join(w.etc, "ssh_config.d", "50-redhat.conf"), "Match final all\n  GSSAPIAuthentication yes\nHost *\n  SendEnv LANG\n")
	d := w.resolve(dest("h"))
	if !cmp.Equal(d.SendEnv, []string{"LANG"}) {
		t.Errorf("Resolve(h).SendEnv = %q, want [LANG] from the system include", d.SendEnv)
	}
	if !hasNote(d.Notes, "bad include path ~/.ssh/not-allowed") {
		t.Errorf("Notes = %q, want a note about ~ in a system include", d.Notes)
	}
}

func TestResolveIncludeRecursionIsBounded(t *testing.T) {
	w := newWorld(t)
	cfg := w.userConfig("Include config config\nUser loop\n")
	d := w.resolve(dest("h"))
	if d.User != "loop" {
		t.Errorf("Resolve(h).User = %q, want loop", d.User)
	}
	if !hasNote(d.Notes, cfg+" line 1: Too many recursive configuration includes") && !hasNote(d.Notes, cfg+" line 1: more than 2048 configuration files read") {
		t.Errorf("Notes = %q, want a note about recursion", d.Notes)
	}
}

func TestResolveIncludeNotes(t *testing.T) {
	w := newWorld(t)
	cfg := w.userConfig("Include missing/*\n")
	d := w.resolve(dest("h"))
	if !hasNote(d.Notes, cfg+" line 1: include "+w.home+"/.ssh/missing/* matched no files") {
		t.Errorf("Notes = %q, want one about the include that matched nothing", d.Notes)
	}
}

func TestResolveExpandsTokens(t *testing.T) {
	w := newWorld(t)
	w.vars["KEYS"] = "/vault/keys"
	w.vars["AGENT"] = "/run/agent.sock"
	w.userConfig(`
Host tok
  HostName %h.example.com
  Port 2222
  User git
  IdentityFile ~/.ssh/%h_%p_%r_%n_%u_%i_%l_%L_%k_%%
  IdentityFile ${KEYS}/%d/id
  CertificateFile ~/certs/%C-cert.pub
  UserKnownHostsFile ~/.ssh/kh_%h %d/kh2
  GlobalKnownHostsFile ~/global_%h
  IdentityAgent ${AGENT}
  ProxyCommand nc -x proxy %h %p # %r %n %% ~
  SetEnv WHO=%r@%h HOME_IS=${KEYS}
`)
	d := w.resolve(dest("tok"))
	hash := tokenValues{localHost: "laptop.example.org", host: "tok.example.com", port: "2222", user: "git"}.connectionHash()
	got := []any{d.HostName, d.IdentityFiles, d.CertificateFiles, d.UserKnownHostsFiles, d.GlobalKnownHostsFiles, d.IdentityAgent, d.ProxyCommand, d.SetEnv}
	want := []any{
		"tok.example.com",
		[]string{
			w.home + "/.ssh/tok.example.com_2222_git_tok_alice_1000_laptop.example.org_laptop_tok_%",
			"/vault/keys/" + w.home + "/id",
		},
		[]string{w.home + "/certs/" + hash + "-cert.pub"},
		[]string{w.home + "/.ssh/kh_tok.example.com", w.home + "/kh2"},
		[]string{w.home + "/global_%h"}, // tilde only
		"/run/agent.sock",
		"nc -x proxy tok.example.com 2222 # git tok % ~",
		[]string{"WHO=git@tok.example.com", "HOME_IS=/vault/keys"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Resolve(tok) expanded values: (-want +got)\n%s", diff)
	}
}

func TestConnectionHashIsOpenSSHs(t *testing.T) {
	// ssh -G -F none -o ControlPath=%C -l root foo.example.com on a host
	// named "vm" (OpenSSH 9.2) prints this hash.
	tv := tokenValues{localHost: "vm", host: "foo.example.com", port: "22", user: "root"}
	if got, want := tv.connectionHash(), "c9a2cf8b42c386029d7c491fcc5e1c6f43bb1f5c"; got != want {
		t.Errorf("connectionHash() = %s, want %s", got, want)
	}
}

func TestResolveExpansionErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  string
		want string
	}{
		{"unknown token", "IdentityFile ~/.ssh/%x\n", "percent_expand: unknown key %x"},
		{"token not allowed in HostName", "HostName %p.example.com\n", "percent_expand: unknown key %p"},
		{"trailing percent", "ProxyCommand nc %\n", "percent_expand: invalid format"},
		{"unset variable", "CertificateFile ${NOPE}/cert\n", "env var ${NOPE} has no value"},
		{"unterminated variable", "UserKnownHostsFile ${NOPE\n", "missing closing '}'"},
		{"user cannot use %r", "User %r\n", "percent_expand: unknown key %r"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			cfg := w.userConfig(tt.cfg)
			_, err := Resolve(dest("h"), w.env)
			if err == nil {
				t.Fatalf("Resolve(h) with %q = nil error, want %q", tt.cfg, tt.want)
			}
			if msg := configError(t, err); !strings.Contains(msg, tt.want) || !strings.Contains(msg, cfg+" line 1") {
				t.Errorf("Resolve(h) with %q = %q, want %q with the file and line", tt.cfg, msg, tt.want)
			}
		})
	}
}

func TestResolveIdentityAgentForms(t *testing.T) {
	w := newWorld(t)
	w.vars["MY_SOCK"] = "/tmp/my.sock"
	tests := []struct{ opt, want string }{
		{"IdentityAgent=none", "none"},
		{"IdentityAgent=SSH_AUTH_SOCK", ""},
		{"IdentityAgent=$MY_SOCK", "/tmp/my.sock"},
		{"IdentityAgent=~/agent.sock", w.home + "/agent.sock"},
	}
	for _, tt := range tests {
		if got := w.resolve(dest("h", tt.opt)).IdentityAgent; got != tt.want {
			t.Errorf("Resolve(-o %s).IdentityAgent = %q, want %q", tt.opt, got, tt.want)
		}
	}
	_, err := Resolve(dest("h", "IdentityAgent=${UNSET}"), w.env)
	if err == nil || configError(t, err) != "command-line line 0: Invalid environment expansion ${UNSET}." {
		t.Errorf("Resolve(-o IdentityAgent=${UNSET}) = %v, want OpenSSH's error", err)
	}
}

func TestResolveIdentityFileNone(t *testing.T) {
	w := newWorld(t)
	d := w.resolve(dest("h", "IdentityFile=none"))
	if len(d.IdentityFiles) != 0 || d.DefaultIdentityFiles {
		t.Errorf("Resolve(-o IdentityFile=none) identities = %q, default %v; want none, false", d.IdentityFiles, d.DefaultIdentityFiles)
	}
}

func TestResolveKnownHostsNone(t *testing.T) {
	w := newWorld(t)
	d := w.resolve(dest("h", "UserKnownHostsFile=none", "GlobalKnownHostsFile /dev/null"))
	if len(d.UserKnownHostsFiles) != 0 || !cmp.Equal(d.GlobalKnownHostsFiles, []string{"/dev/null"}) {
		t.Errorf("Resolve known hosts files = %q, %q; want [], [/dev/null]", d.UserKnownHostsFiles, d.GlobalKnownHostsFiles)
	}
}

func TestResolveTimesAndDeviations(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		opts []string
		want []any // ServerAliveInterval, ConnectTimeout, ControlPersist, ControlMaster
	}{
		{nil, []any{DefaultServerAliveInterval, time.Duration(0), DefaultControlPersist, "auto"}},
		{[]string{"ServerAliveInterval=0"}, []any{time.Duration(0), time.Duration(0), DefaultControlPersist, "auto"}},
		{[]string{"ServerAliveInterval=1m30s", "ConnectTimeout=10"}, []any{90 * time.Second, 10 * time.Second, DefaultControlPersist, "auto"}},
		{[]string{"ServerAliveInterval=none", "ServerAliveInterval=7"}, []any{7 * time.Second, time.Duration(0), DefaultControlPersist, "auto"}},
		{[]string{"ControlPersist=yes"}, []any{DefaultServerAliveInterval, time.Duration(0), time.Duration(0), "auto"}},
		{[]string{"ControlPersist=0"}, []any{DefaultServerAliveInterval, time.Duration(0), time.Duration(0), "auto"}},
		{[]string{"ControlPersist=no"}, []any{DefaultServerAliveInterval, time.Duration(0), DefaultControlPersist, "auto"}},
		{[]string{"ControlPersist=1h", "ControlMaster=no"}, []any{DefaultServerAliveInterval, time.Duration(0), time.Hour, "no"}},
		{[]string{"ControlMaster=true", "ConnectTimeout=none"}, []any{DefaultServerAliveInterval, time.Duration(0), DefaultControlPersist, "yes"}},
	}
	for _, tt := range tests {
		d := w.resolve(dest("h", tt.opts...))
		got := []any{d.ServerAliveInterval, d.ConnectTimeout, d.ControlPersist, d.ControlMaster}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Resolve(-o %q) keepalive, timeout, persist, master: (-want +got)\n%s", tt.opts, diff)
		}
	}
}

func TestResolveNormalizesChoices(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		opt  string
		get  func(Destination) any
		want any
	}{
		{"StrictHostKeyChecking=off", func(d Destination) any { return d.StrictHostKeyChecking }, "no"},
		{"StrictHostKeyChecking=on", func(d Destination) any { return d.StrictHostKeyChecking }, "yes"},
		{"StrictHostKeyChecking=TRUE", func(d Destination) any { return d.StrictHostKeyChecking }, "yes"},
		{"StrictHostKeyChecking=accept-new", func(d Destination) any { return d.StrictHostKeyChecking }, "accept-new"},
		{"BatchMode=true", func(d Destination) any { return d.BatchMode }, true},
		{"PubkeyAuthentication=host-bound", func(d Destination) any { return d.PubkeyAuthentication }, true},
		{"PubkeyAuthentication=no", func(d Destination) any { return d.PubkeyAuthentication }, false},
		{"ChallengeResponseAuthentication=no", func(d Destination) any { return d.KbdInteractiveAuthentication }, false},
		{"LogLevel=debug", func(d Destination) any { return d.LogLevel }, "DEBUG1"},
		{"HostKeyAlgorithms=+ssh-rsa,ssh-ed25519", func(d Destination) any { return d.HostKeyAlgorithms }, []string{"+ssh-rsa", "ssh-ed25519"}},
		{"HostKeyAlias=MyAlias", func(d Destination) any { return d.HostKeyAlias }, "myalias"},
	}
	for _, tt := range tests {
		if got := tt.get(w.resolve(dest("h", tt.opt))); !cmp.Equal(got, tt.want) {
			t.Errorf("Resolve(-o %s) = %v, want %v", tt.opt, got, tt.want)
		}
	}
}

func TestResolveFlags(t *testing.T) {
	w := newWorld(t)
	w.userConfig("LogLevel ERROR\nAddressFamily inet6\n")
	tests := []struct {
		req    Request
		level  string
		family string
	}{
		{Request{Destination: "h"}, "ERROR", "inet6"},
		{Request{Destination: "h", Verbose: 1, AddressFamily: "inet"}, "DEBUG1", "inet"},
		{Request{Destination: "h", Verbose: 5}, "DEBUG3", "inet6"},
		{Request{Destination: "h", Quiet: true}, "QUIET", "inet6"},
	}
	for _, tt := range tests {
		d := w.resolve(tt.req)
		if d.LogLevel != tt.level || d.AddressFamily != tt.family {
			t.Errorf("Resolve(%+v) loglevel, family = %s, %s; want %s, %s", tt.req, d.LogLevel, d.AddressFamily, tt.level, tt.family)
		}
	}
}

func TestResolveSendEnvAndSetEnv(t *testing.T) {
	w := newWorld(t)
	w.userConfig(`
Host *
  SendEnv LANG LC_* XMODIFIERS
  SendEnv -LC_* -XMOD*
  SendEnv GIT_*
  SetEnv A=1 B="two words" A=ignored
  SetEnv C=3
`)
	d := w.resolve(dest("h", "SendEnv=GIT_PROTOCOL"))
	got := []any{d.SendEnv, d.SetEnv}
	want := []any{[]string{"GIT_PROTOCOL", "LANG", "GIT_*"}, []string{"A=1", "B=two words"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Resolve(h) SendEnv, SetEnv: (-want +got)\n%s", diff)
	}
}

func TestResolveProxyCommandAndProxyJumpFirstWins(t *testing.T) {
	w := newWorld(t)
	w.userConfig(`
Host cmd-first
  ProxyCommand nc %h %p
  ProxyJump bastion
Host jump-first
  ProxyJump bastion
  ProxyCommand nc %h %p
Host jump-none
  ProxyJump none
  ProxyCommand nc %h %p
Host cmd-none
  ProxyCommand none
  ProxyJump bastion
Host bastion
  ProxyJump none
`)
	tests := []struct {
		host  string
		cmd   string
		jumps int
	}{
		{"cmd-first", "nc cmd-first 22", 0},
		{"jump-first", "", 1},
		{"jump-none", "nc jump-none 22", 0},
		{"cmd-none", "", 0},
	}
	for _, tt := range tests {
		d := w.resolve(dest(tt.host))
		if d.ProxyCommand != tt.cmd || len(d.Jumps) != tt.jumps {
			t.Errorf("Resolve(%q) ProxyCommand, jumps = %q, %d; want %q, %d", tt.host, d.ProxyCommand, len(d.Jumps), tt.cmd, tt.jumps)
		}
	}
}

func TestResolveProxyJumpChain(t *testing.T) {
	w := newWorld(t)
	w.userConfig(`
Host target
  HostName target.internal
  ProxyJump jump1,admin@jump2:2022
Host jump1
  HostName j1.example.com
  User j1user
  ProxyJump outer
Host jump2
  HostName j2.example.com
  ProxyJump ignored-for-later-hops
  IdentityFile ~/.ssh/j2
Host outer
  HostName outer.example.com
Host *
  IdentityFile ~/.ssh/all
`)
	d := w.resolve(Request{Destination: "target", Options: []string{"User=cmdline-only"}, Verbose: 1})
	type hop struct {
		Alias, HostName, User string
		Port                  int
		Inner                 []string
		IDs                   []string
		Level                 string
	}
	var got []hop
	for _, j := range d.Jumps {
		h := hop{j.Alias, j.HostName, j.User, j.Port, nil, j.IdentityFiles, j.LogLevel}
		for _, in := range j.Jumps {
			h.Inner = append(h.Inner, in.HostName)
		}
		got = append(got, h)
	}
	want := []hop{
		{"jump1", "j1.example.com", "j1user", 22, []string{"outer.example.com"}, []string{w.home + "/.ssh/all"}, "DEBUG1"},
		{"jump2", "j2.example.com", "admin", 2022, nil, []string{w.home + "/.ssh/j2", w.home + "/.ssh/all"}, "DEBUG1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Resolve(target).Jumps: (-want +got)\n%s", diff)
	}
	if d.User != "cmdline-only" || d.HostName != "target.internal" {
		t.Errorf("Resolve(target) user, hostname = %q, %q; want cmdline-only, target.internal", d.User, d.HostName)
	}
}

func TestResolveProxyJumpExpandsTokens(t *testing.T) {
	w := newWorld(t)
	w.userConfig("Host gw-*\n  ProxyJump none\nHost *.internal\n  ProxyJump gw-%h\n")
	d := w.resolve(dest("db.internal"))
	if len(d.Jumps) != 1 || d.Jumps[0].HostName != "gw-db.internal" {
		t.Fatalf("Resolve(db.internal).Jumps = %+v, want one hop gw-db.internal", d.Jumps)
	}
}

func TestResolveProxyJumpLoops(t *testing.T) {
	tests := []struct {
		name string
		cfg  string
		want string
	}{
		{"two hosts", "Host a\n  ProxyJump b\nHost b\n  ProxyJump a\n", "ProxyJump loop: a -> b -> a"},
		{"bastion for every host, itself included", "Host *\n  ProxyJump bastion\n", "ProxyJump loop: h -> bastion -> bastion"},
		{"same hop twice", "Host a\n  ProxyJump x,x\n", "ProxyJump loop: a -> x -> x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.userConfig(tt.cfg)
			host := "a"
			if strings.Contains(tt.want, "h ->") {
				host = "h"
			}
			_, err := Resolve(dest(host), w.env)
			if err == nil {
				t.Fatalf("Resolve(%q) = nil error, want %q", host, tt.want)
			}
			if msg := configError(t, err); !strings.Contains(msg, tt.want) {
				t.Errorf("Resolve(%q) = %q, want %q", host, msg, tt.want)
			}
		})
	}
}

func TestResolveRefuseConnection(t *testing.T) {
	w := newWorld(t)
	cfg := w.userConfig("Host prod\n  RefuseConnection use the bastion\nHost *\n  User x\n")
	if _, err := Resolve(dest("dev"), w.env); err != nil {
		t.Errorf("Resolve(dev) = %v, want no error (block does not apply)", err)
	}
	_, err := Resolve(dest("prod"), w.env)
	if err == nil || configError(t, err) != cfg+" line 2: RefuseConnection: use" {
		t.Errorf("Resolve(prod) = %v, want RefuseConnection error", err)
	}
}

func TestResolveMatchHostIgnoresCase(t *testing.T) {
	w := newWorld(t)
	w.userConfig(`
Host alias
  HostName Real.Example.COM
Match host real.example.com
  SendEnv HOST
Match originalhost alias
  SendEnv ORIGINAL
`)
	if got := w.resolve(dest("alias")).SendEnv; !cmp.Equal(got, []string{"HOST", "ORIGINAL"}) {
		t.Errorf("Resolve(alias).SendEnv = %q, want [HOST ORIGINAL]", got)
	}
	if got := w.resolve(dest("ALIAS")).SendEnv; !cmp.Equal(got, []string{"ORIGINAL"}) {
		t.Errorf("Resolve(ALIAS).SendEnv = %q, want [ORIGINAL] (Host is case-sensitive, Match originalhost is not)", got)
	}
}
