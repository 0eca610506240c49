package dial

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestFilterKnownHosts(t *testing.T) {
	const key = "AAAAC3NzaC1lZDI1NTE5AAAAIKhc1Xt6k0WQiTS7hWbkNXo5wIJ6F6bT6FXzL8qlk2Vd"
	lines := []string{
		"# comment",
		"",
		"host.example ssh-ed25519 " + key + " a comment",
		"[127.0.0.1]:2222,!bad.example ssh-ed25519 " + key,
		"@cert-authority *.example ssh-ed25519 " + key,
		"@revoked * ssh-ed25519 " + key,
		"|1|c2FsdA==|aGFzaA== ssh-ed25519 " + key,
		"host ssh-ed25519 not!base64",                             // 8
		"host ssh-future " + key,                                  // 9: type does not match the key
		"host ssh-rsa " + key,                                     // 10
		"host ssh-ed25519",                                        // 11
		"@unknown host ssh-ed25519 " + key,                        // 12
		"|2|c2FsdA==|aGFzaA== ssh-ed25519 " + key,                 // 13
		"[host:22 ssh-ed25519 " + key,                             // 14
		"! ssh-ed25519 " + key,                                    // 15
		"h ssh-ed25519 " + strings.Repeat("A", maxKnownHostsLine), // 16
	}
	clean, bad := filterKnownHosts([]byte(strings.Join(lines, "\n")))
	if want := []int{8, 9, 10, 11, 12, 13, 14, 15, 16}; !slices.Equal(bad, want) {
		t.Fatalf("filterKnownHosts: bad lines %v, want %v", bad, want)
	}
	got := strings.Split(string(clean), "\n")
	if len(got) != len(lines) {
		t.Fatalf("filterKnownHosts kept %d lines, want %d (line numbers must not move)", len(got), len(lines))
	}
	for i, l := range got {
		if want := lines[i]; slices.Contains(bad, i+1) {
			want = ""
			if l != want {
				t.Errorf("line %d = %q, want it blank", i+1, l)
			}
		} else if l != want {
			t.Errorf("line %d = %q, want %q", i+1, l, want)
		}
	}
}

func TestLoadKnownHostsSkipsBadLines(t *testing.T) {
	dir := t.TempDir()
	const key = "AAAAC3NzaC1lZDI1NTE5AAAAIKhc1Xt6k0WQiTS7hWbkNXo5wIJ6F6bT6FXzL8qlk2Vd"
	f := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(f, []byte("x ssh-ed25519 !!!\nhost.example ssh-ed25519 "+key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var debug []string
	db, err := loadKnownHosts([]string{f, filepath.Join(dir, "missing")}, func(format string, a ...any) {
		debug = append(debug, strings.TrimSpace(fmt.Sprintf(format, a...)))
	})
	if err != nil {
		t.Fatalf("loadKnownHosts = %v, want the bad line skipped", err)
	}
	if want := []string{f + ":1: parse error in hostkeys file"}; !slices.Equal(debug, want) {
		t.Errorf("debug lines = %q, want %q", debug, want)
	}
	keys := db.HostKeys("host.example:22")
	if len(keys) != 1 {
		t.Fatalf("HostKeys = %d keys, want 1", len(keys))
	}
	for copyName := range db.names {
		if _, err := os.Stat(copyName); err == nil {
			t.Errorf("filtered copy %s left behind", copyName)
		}
	}
}
