package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestSSHCommandValue(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	self := t.TempDir()
	if err := os.Link(exe, filepath.Join(self, "gitssh")); err != nil {
		t.Skipf("cannot hard-link the test binary: %v", err)
	}
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "gitssh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"this executable first on PATH", self + ":" + other, "gitssh"},
		{"another gitssh first on PATH", other + ":" + self, exe},
		{"no gitssh on PATH", t.TempDir(), exe},
		{"empty PATH", "", exe},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sshCommandValue(map[string]string{"PATH": tt.path})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("sshCommandValue(PATH=%s) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

func TestParseLongOptions(t *testing.T) {
	tests := []struct {
		args               []string
		setup, undo, force bool
		wantErr, wantHelp  bool
	}{
		{args: []string{"--setup"}, setup: true},
		{args: []string{"--setup", "--force"}, setup: true, force: true},
		{args: []string{"--undo", "--setup"}, setup: true, undo: true},
		{args: []string{"--help", "host"}, wantHelp: true},
		{args: []string{"--setup", "host"}, wantErr: true},
		{args: []string{"host", "--setup"}, wantErr: true},
		{args: []string{"--undo"}, wantErr: true},
		{args: []string{"--bogus", "host"}, wantErr: true},
	}
	for _, tt := range tests {
		inv, err := parseArgs(tt.args)
		if tt.wantErr {
			if err == nil {
				t.Errorf("parseArgs(%q) = %+v, want an error", tt.args, inv)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseArgs(%q): %v", tt.args, err)
			continue
		}
		if inv.setup != tt.setup || inv.undo != tt.undo || inv.force != tt.force || inv.help != tt.wantHelp {
			t.Errorf("parseArgs(%q) = setup %v undo %v force %v help %v, want %v %v %v %v", tt.args,
				inv.setup, inv.undo, inv.force, inv.help, tt.setup, tt.undo, tt.force, tt.wantHelp)
		}
	}
	// A remote command's own --words are not ours.
	inv, err := parseArgs([]string{"host", "git-upload-pack", "--stateless-rpc"})
	if err != nil || inv.setup || inv.remoteCommand() != "git-upload-pack --stateless-rpc" {
		t.Errorf("parseArgs(host git-upload-pack --stateless-rpc) = %+v, %v", inv, err)
	}
}

// TestSetupUndoKeepsForeignValues runs --setup and --undo against real git
// in a private HOME: --undo removes a value --setup writes and keeps one it
// does not; --setup refuses a foreign core.sshCommand without touching
// the file.
func TestSetupUndoKeepsForeignValues(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	home := t.TempDir()
	env := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "GIT_CONFIG_NOSYSTEM=1"}
	gitcfg := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"config", "--global"}, args...)...)
		cmd.Env = env
		out, _ := cmd.Output()
		return strings.TrimSpace(string(out))
	}
	setup := func(args ...string) (int, string) {
		var stderr bytes.Buffer
		status := run(context.Background(), append([]string{"--setup"}, args...), env, nil, &bytes.Buffer{}, &stderr)
		return status, stderr.String()
	}

	gitcfg("ssh.variant", "plink")
	status, stderr := setup()
	if status != 1 || !strings.Contains(stderr, `ssh.variant is already "plink"`) {
		t.Errorf("--setup over ssh.variant plink = %d, %q; want 1 and a refusal", status, stderr)
	}
	if got := gitcfg("--get", "core.sshCommand"); got != "" {
		t.Errorf("a refused --setup wrote core.sshCommand = %q", got)
	}

	if status, stderr = setup("--force"); status != 0 {
		t.Fatalf("--setup --force = %d, %q", status, stderr)
	}
	gitcfg("core.sshCommand", "ssh -v")
	if status, stderr = setup("--undo"); status != 0 {
		t.Fatalf("--setup --undo = %d, %q", status, stderr)
	}
	if got := gitcfg("--get", "core.sshCommand"); got != "ssh -v" {
		t.Errorf("--undo changed a foreign core.sshCommand to %q", got)
	}
	if got := gitcfg("--get", "ssh.variant"); got != "" {
		t.Errorf("--undo left ssh.variant = %q", got)
	}
}

func TestPrintsOnly(t *testing.T) {
	for args, want := range map[string]bool{
		"-G -o SendEnv=GIT_PROTOCOL -p 7999 git@host": true,
		"-V":              true,
		"--help":          true,
		"-Z host":         true, // a usage error
		"git@host true":   false,
		"-O exit":         false,
		"--setup":         false,
		"--master / 5m0s": false,
	} {
		if got := printsOnly(strings.Fields(args)); got != want {
			t.Errorf("printsOnly(%s) = %v, want %v", args, got, want)
		}
	}
}
