package testworld

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// world starts one server with client files for it, stopped at cleanup.
func world(t *testing.T, opts SSHDOptions) (*SSHD, *ClientFiles) {
	t.Helper()
	RequireTools(t, "sshd", "ssh", "ssh-keygen")
	dir := t.TempDir()
	s, err := StartSSHD(filepath.Join(dir, "sshd"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	c, err := NewClientFiles(filepath.Join(dir, "client"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddServer(DefaultAlias, s); err != nil {
		t.Fatal(err)
	}
	return s, c
}

// sshCmd returns an OpenSSH client command with a private HOME and no agent.
func sshCmd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("ssh", append([]string{"-o", "BatchMode=yes"}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "SSH_AUTH_SOCK=")
	return cmd
}

func wantCounts(t *testing.T, s *SSHD, conns, accepted int) {
	t.Helper()
	if n, err := s.Connections(); err != nil || n != conns {
		t.Errorf("Connections() = %d, %v, want %d", n, err, conns)
	}
	if n, err := s.AcceptedConnections(); err != nil || n != accepted {
		t.Errorf("AcceptedConnections() = %d, %v, want %d", n, err, accepted)
	}
}

func TestSSHDAcceptsKeyAndSurvivesRestart(t *testing.T) {
	s, c := world(t, SSHDOptions{MaxSessions: 3, Extra: []string{"ClientAliveInterval 60"}})
	if s.Port() == 22 || s.Port() == 0 {
		t.Fatalf("Port() = %d", s.Port())
	}
	cfg, err := os.ReadFile(s.ConfigPath())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"MaxSessions 3\n", "ClientAliveInterval 60\n", "AcceptEnv GIT_PROTOCOL\n"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("sshd_config lacks %q:\n%s", want, cfg)
		}
	}
	wantCounts(t, s, 0, 0)

	// Remote commands run with the server's own HOME, so the machine's
	// dotfiles (a ~/.bashrc that bash sources under sshd) stay out.
	out, err := sshCmd(t, "-F", c.SSHConfig, DefaultAlias, "echo $HOME").CombinedOutput()
	if want := s.HomeDir() + "\n"; err != nil || string(out) != want {
		t.Fatalf("ssh gitserver echo $HOME = %q, %v; want %q", out, err, want)
	}
	wantCounts(t, s, 1, 1)

	// The URL form does not use the alias; the "Host *" block covers it.
	out, err = sshCmd(t, "-F", c.SSHConfig, "-p", strconv.Itoa(s.Port()), c.User+"@127.0.0.1", "echo url").CombinedOutput()
	if err != nil || string(out) != "url\n" {
		t.Fatalf("ssh -p PORT USER@127.0.0.1 = %q, %v", out, err)
	}
	wantCounts(t, s, 2, 2)

	pid := s.Pid()
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if s.Pid() == pid || Running(pid) {
		t.Errorf("after Restart, old sshd %d alive=%v, new pid %d", pid, Running(pid), s.Pid())
	}
	// Same port and host keys: the known_hosts written before still works.
	out, err = sshCmd(t, "-F", c.SSHConfig, DefaultAlias, "echo again").CombinedOutput()
	if err != nil || string(out) != "again\n" {
		t.Fatalf("ssh after Restart = %q, %v", out, err)
	}
	wantCounts(t, s, 3, 3)
}

func TestSSHDRefusesBadKeyAndWrongHostKey(t *testing.T) {
	s, c := world(t, SSHDOptions{})
	port := strconv.Itoa(s.Port())
	common := []string{"-F", os.DevNull, "-p", port, "-o", "UserKnownHostsFile=" + c.KnownHosts, "-o", "IdentitiesOnly=yes"}

	out, err := sshCmd(t, append(common, "-i", c.BadKey, c.User+"@127.0.0.1", "true")...).CombinedOutput()
	if code := exitCode(err); code != 255 || !strings.Contains(string(out), "Permission denied (publickey).") {
		t.Errorf("ssh -i BadKey: exit %d, output %q; want 255 and Permission denied", code, out)
	}

	wrong := filepath.Join(t.TempDir(), "known_hosts")
	other, err := os.ReadFile(c.BadKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(other))
	if err := os.WriteFile(wrong, []byte(fmt.Sprintf("[127.0.0.1]:%s %s %s\n", port, f[0], f[1])), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-F", os.DevNull, "-p", port, "-o", "UserKnownHostsFile=" + wrong, "-o", "StrictHostKeyChecking=yes", "-i", c.Key, c.User + "@127.0.0.1", "true"}
	out, err = sshCmd(t, args...).CombinedOutput()
	if code := exitCode(err); code != 255 || !strings.Contains(string(out), "REMOTE HOST IDENTIFICATION HAS CHANGED") {
		t.Errorf("ssh with a wrong host key: exit %d, output %q; want 255 and a changed-key warning", code, out)
	}
	// Connections that failed authentication count as connections only.
	wantCounts(t, s, 2, 0)
}

func TestStopKillsOpenSessions(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("finding sshd's children needs /proc")
	}
	s, c := world(t, SSHDOptions{})
	cmd := sshCmd(t, "-F", c.SSHConfig, DefaultAlias, "sleep 300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if n, _ := s.AcceptedConnections(); n == 1 && len(descendants(s.Pid())) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("session did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	tree := append(descendants(s.Pid()), s.Pid())
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if exitCode(err) != 255 {
			t.Errorf("ssh after Stop: %v, want exit 255", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("ssh still running 10s after Stop")
	}
	time.Sleep(50 * time.Millisecond) // let init reap the orphans
	for _, pid := range tree {
		if Running(pid) {
			t.Errorf("process %d of the server's tree survived Stop", pid)
		}
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestStartFailureShowsLog(t *testing.T) {
	RequireTools(t, "sshd", "ssh-keygen")
	_, err := StartSSHD(t.TempDir(), SSHDOptions{Extra: []string{"NoSuchSSHDKeyword yes"}})
	if err == nil || !strings.Contains(err.Error(), "NoSuchSSHDKeyword") {
		t.Fatalf("StartSSHD with a bad keyword: %v, want an error quoting sshd's complaint", err)
	}
}

func TestGitCloneOverSSH(t *testing.T) {
	RequireTools(t, "git")
	s, c := world(t, SSHDOptions{})
	repos, err := MakeRepos(filepath.Join(t.TempDir(), "repos"), 2)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	for i, url := range []string{
		DefaultAlias + ":" + repos[0],
		fmt.Sprintf("ssh://%s@127.0.0.1:%d%s", c.User, s.Port(), repos[1]),
	} {
		dst := filepath.Join(work, strconv.Itoa(i))
		cmd := exec.Command("git", "clone", "--quiet", url, dst)
		cmd.Env = append(os.Environ(), gitEnv...)
		cmd.Env = append(cmd.Env, "HOME="+t.TempDir(), "SSH_AUTH_SOCK=", "GIT_SSH_COMMAND=ssh -o BatchMode=yes -F "+c.SSHConfig)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git clone %s: %v\n%s", url, err, out)
		}
		out, err := exec.Command("git", "-C", dst, "log", "--format=%s").Output()
		if err != nil || string(out) != "commit 3\ncommit 2\ncommit 1\n" {
			t.Errorf("git log in clone of %s = %q, %v", url, out, err)
		}
	}
	wantCounts(t, s, 2, 2)
}

func TestMakeBareRepoIsDeterministic(t *testing.T) {
	RequireTools(t, "git")
	var heads []string
	for range 2 {
		p := filepath.Join(t.TempDir(), "r.git")
		if err := MakeBareRepo(p, 4); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("git", "--git-dir="+p, "rev-parse", "HEAD").Output()
		if err != nil {
			t.Fatal(err)
		}
		heads = append(heads, string(out))
	}
	if heads[0] != heads[1] {
		t.Errorf("MakeBareRepo HEADs differ: %q, %q", heads[0], heads[1])
	}
}

func TestAgentAndPassphraseKey(t *testing.T) {
	RequireTools(t, "ssh-agent", "ssh-add")
	s, c := world(t, SSHDOptions{})
	a, err := StartAgent(filepath.Join(t.TempDir(), "agent.sock"), c.Key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Stop() })
	args := []string{"-F", os.DevNull, "-p", strconv.Itoa(s.Port()), "-o", "UserKnownHostsFile=" + c.KnownHosts, "-i", c.BadKey, c.User + "@127.0.0.1", "echo agent"}
	cmd := sshCmd(t, args...)
	cmd.Env = append(cmd.Env, "SSH_AUTH_SOCK="+a.Socket)
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "agent\n" {
		t.Errorf("ssh with the agent = %q, %v", out, err)
	}
	a.Stop()
	cmd = sshCmd(t, args...)
	cmd.Env = append(cmd.Env, "SSH_AUTH_SOCK="+a.Socket)
	if out, err := cmd.CombinedOutput(); exitCode(err) != 255 {
		t.Errorf("ssh after the agent stopped = %q, %v; want exit 255", out, err)
	}

	askpass := filepath.Join(t.TempDir(), "askpass")
	if err := os.WriteFile(askpass, []byte("#!/bin/sh\necho '"+Passphrase+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	args = []string{"-F", os.DevNull, "-p", strconv.Itoa(s.Port()), "-o", "UserKnownHostsFile=" + c.KnownHosts, "-i", c.PassphraseKey, c.User + "@127.0.0.1", "echo passphrase"}
	cmd = exec.Command("ssh", args...) // no BatchMode: it would forbid askpass
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "SSH_AUTH_SOCK=", "SSH_ASKPASS="+askpass, "SSH_ASKPASS_REQUIRE=force")
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "passphrase\n" {
		t.Errorf("ssh with the passphrase key = %q, %v", out, err)
	}
}

func TestDetachedServerStopDir(t *testing.T) {
	RequireTools(t, "sshd", "ssh-keygen")
	dir := t.TempDir()
	s, err := StartSSHD(dir, SSHDOptions{Detach: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	var pid int
	for deadline := time.Now().Add(5 * time.Second); pid == 0 && time.Now().Before(deadline); {
		pid = RunningPid(dir) // sshd writes its pid file just after binding
		time.Sleep(10 * time.Millisecond)
	}
	if pid != s.Pid() {
		t.Fatalf("RunningPid = %d, want %d", pid, s.Pid())
	}
	if err := StopDir(dir); err != nil {
		t.Fatal(err)
	}
	if RunningPid(dir) != 0 {
		t.Errorf("sshd still running after StopDir")
	}
	if err := StopDir(dir); err != nil {
		t.Errorf("StopDir of a stopped server: %v", err)
	}
}

func TestKillMentioning(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc")
	}
	marker := t.TempDir()
	cmd := exec.Command("sleep", "300")
	cmd.Args[0] = filepath.Join(marker, "sleep") // argv[0] is only a name
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	found, err := KillMentioning(marker)
	if err != nil || len(found) != 1 || !strings.HasPrefix(found[0], strconv.Itoa(cmd.Process.Pid)+": "+marker) {
		t.Errorf("KillMentioning = %q, %v; want the sleep process", found, err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatal("process still running after KillMentioning")
	}
}

type fakeTB struct{ fatal, skip string }

func (f *fakeTB) Helper()                        {}
func (f *fakeTB) Fatalf(format string, a ...any) { f.fatal = fmt.Sprintf(format, a...) }
func (f *fakeTB) Skipf(format string, a ...any)  { f.skip = fmt.Sprintf(format, a...) }

func TestRequireToolsFailsInCI(t *testing.T) {
	tests := []struct {
		name, ci, e2e string
		wantFatal     bool
	}{
		{"local", "", "", false},
		{"CI=true", "true", "", true},
		{"CI=false", "false", "", false},
		{"GITSSH_E2E=1", "", "1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			t.Setenv("GITSSH_E2E", tt.e2e)
			var f fakeTB
			RequireTools(&f, "gitssh-no-such-tool")
			if gotFatal := f.fatal != ""; gotFatal != tt.wantFatal || (f.fatal == "") == (f.skip == "") {
				t.Errorf("RequireTools: Fatalf %q, Skipf %q; want fatal=%v", f.fatal, f.skip, tt.wantFatal)
			}
			f = fakeTB{}
			RequireTools(&f, "sh")
			if f.fatal != "" || f.skip != "" {
				t.Errorf("RequireTools(sh): Fatalf %q, Skipf %q", f.fatal, f.skip)
			}
		})
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}
