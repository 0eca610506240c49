//go:build unix

package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitssh/gitssh/internal/sshtest"
)

// runAgainst runs gitssh's run() in direct mode against an in-process
// server, with a key and known_hosts for it in a fresh HOME.
func runAgainst(t *testing.T, srv *sshtest.Server, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	home := t.TempDir()
	key := filepath.Join(home, "id")
	known := filepath.Join(home, "known_hosts")
	if err := os.WriteFile(key, sshtest.UserKeyPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(known, []byte(srv.KnownHostsLine()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(srv.Addr())
	argv := append([]string{"-F", "none", "-p", port, "-i", key,
		"-o", "UserKnownHostsFile=" + known, "-o", "IdentitiesOnly=yes", "-o", "ControlMaster=no",
		"git@" + host}, args...)
	env := []string{"HOME=" + home, "USER=tester", "PATH=" + os.Getenv("PATH")}
	var out, errOut bytes.Buffer
	status = run(context.Background(), argv, env, strings.NewReader(""), &out, &errOut)
	return status, out.String(), errOut.String()
}

func TestShellRefusedMessage(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{RefuseShell: true})
	status, stdout, stderr := runAgainst(t, srv)
	if status != 255 {
		t.Errorf("status = %d, want 255", status)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
	_, port, _ := net.SplitHostPort(srv.Addr())
	want := "gitssh: 127.0.0.1 only runs git commands, it has no shell: use it through git, as in: git clone ssh://git@127.0.0.1:" + port + "/PATH/TO/REPO.git\n"
	if stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
	// The same server runs commands.
	if status, stdout, _ := runAgainst(t, srv, "echo", "ok"); status != 0 || stdout != "ok\n" {
		t.Errorf("exec: status %d, stdout %q; want 0, %q", status, stdout, "ok\n")
	}
}

func TestRemoteStatusAndSignal(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	tests := []struct {
		name    string
		command []string
		want    int
	}{
		{"exit status passes through", []string{"exit", "7"}, 7},
		{"success", []string{"echo", "hi"}, 0},
		{"signal gives 255, as ssh", []string{"signal", "KILL"}, 255},
		{"no exit status gives 255", []string{"noexit"}, 255},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, stderr := runAgainst(t, srv, tt.command...)
			if status != tt.want {
				t.Errorf("gitssh %v: status %d, want %d (stderr %q)", tt.command, status, tt.want, stderr)
			}
		})
	}
}

func TestDebugGoesToStderrOnly(t *testing.T) {
	srv := sshtest.NewServer(t, sshtest.Options{})
	status, stdout, stderr := runAgainst(t, srv, "-v", "echo", "payload")
	if status != 0 {
		t.Fatalf("status %d, stderr %q", status, stderr)
	}
	if stdout != "payload\n" {
		t.Errorf("stdout = %q, want only the remote's bytes", stdout)
	}
	if !strings.Contains(stderr, "debug1: ") {
		t.Errorf("stderr has no debug1 lines under -v: %q", stderr)
	}
}
