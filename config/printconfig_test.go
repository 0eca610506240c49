package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestWriteGTypicalConfig pins -G output for a typical configuration. The
// expected text is what OpenSSH 9.2's ssh -G prints for the same files,
// minus the options gitssh does not act on and that are not set, and with
// gitssh's own defaults (controlmaster auto, serveraliveinterval 3, serveralivecountmax 10,
// controlpersist 300).
func TestWriteGTypicalConfig(t *testing.T) {
	w := newWorld(t)
	w.userConfig(`
Host bitbucket
    HostName Bitbucket.Example.com
    Port 7999
    User git
    IdentityFile ~/.ssh/id_bitbucket
    IdentitiesOnly yes
    ProxyJump admin@bastion.example.com:2222
    StrictHostKeyChecking accept-new
    ServerAliveInterval 30
    Compression yes
    ForwardAgent yes

Host *
    SendEnv LANG LC_*
    UserKnownHostsFile ~/.ssh/known_hosts ~/.ssh/known_hosts.d/%h
    ControlPersist 10m
    HashKnownHosts yes
`)
	d := w.resolve(Request{Destination: "bitbucket", Port: "7999", Options: []string{"SendEnv=GIT_PROTOCOL"}})
	var b strings.Builder
	if err := d.WriteG(&b); err != nil {
		t.Fatal(err)
	}
	want := strings.ReplaceAll(`host bitbucket
user git
hostname bitbucket.example.com
port 7999
addressfamily any
batchmode no
compression yes
controlmaster auto
hashknownhosts yes
identitiesonly yes
kbdinteractiveauthentication yes
passwordauthentication yes
pubkeyauthentication true
requesttty auto
stricthostkeychecking accept-new
tcpkeepalive yes
numberofpasswordprompts 3
serveralivecountmax 10
serveraliveinterval 30
loglevel INFO
identityfile ~/.ssh/id_bitbucket
globalknownhostsfile /etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2
userknownhostsfile HOME/.ssh/known_hosts HOME/.ssh/known_hosts.d/bitbucket.example.com
sendenv GIT_PROTOCOL
sendenv LANG
sendenv LC_*
forwardagent yes
connecttimeout none
controlpersist 600
proxyjump admin@bastion.example.com:2222
`, "HOME", w.home)
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("WriteG: (-want +got)\n%s", diff)
	}
}

func TestWriteGSpecialValues(t *testing.T) {
	w := newWorld(t)
	d := w.resolve(dest("h",
		"StrictHostKeyChecking=no", "ControlMaster=yes", "ControlPersist=yes", "ConnectTimeout=1m",
		"UserKnownHostsFile=none", "ProxyCommand=nc %h %p", "LogLevel=DEBUG1", "IdentityFile=none",
		"SetEnv=A=1", "HostKeyAlias=Alias", "IdentityAgent=none", "ControlPath=~/.ssh/%C"))
	var b strings.Builder
	if err := d.WriteG(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\nstricthostkeychecking false\n", "\ncontrolmaster true\n", "\ncontrolpersist yes\n",
		"\nconnecttimeout 60\n", "\nuserknownhostsfile none\n", "\nproxycommand nc %h %p\n",
		"\nloglevel DEBUG\n", "\nidentityfile none\n", "\nsetenv A=1\n", "\nhostkeyalias alias\n",
		"\nidentityagent none\n", "\ncontrolpath ~/.ssh/%C\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("WriteG output lacks %q:\n%s", strings.TrimSpace(want), b.String())
		}
	}
}

func TestWriteGZeroDestination(t *testing.T) {
	var b strings.Builder
	if err := (Destination{}).WriteG(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "host \nuser \nhostname \nport 0\n") {
		t.Errorf("WriteG of the zero Destination = %q", b.String())
	}
}
