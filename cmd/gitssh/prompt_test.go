package main

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestPromptAskpassEnv: the askpass program runs in the environment gitssh
// was given (which, in a master, is the asking client's), not in the
// process's own.
func TestPromptAskpassEnv(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the askpass stand-in is a shell script")
	}
	dir := t.TempDir()
	askpass := filepath.Join(dir, "askpass")
	script := "#!/bin/sh\nprintf '%s|%s|%s\\n' \"$GITSSH_TEST_ANSWER\" \"$SSH_ASKPASS_PROMPT\" \"$1\"\n"
	if err := os.WriteFile(askpass, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, ok := os.LookupEnv("GITSSH_TEST_ANSWER"); ok {
		t.Fatal("GITSSH_TEST_ANSWER is set in the test's own environment")
	}
	p := newPrompter(map[string]string{
		"SSH_ASKPASS":         askpass,
		"SSH_ASKPASS_REQUIRE": "force",
		"GITSSH_TEST_ANSWER":  "from-client",
	})
	tests := []struct {
		name string
		ask  func(string) (string, error)
		want string
	}{
		{name: "secret", ask: p.Secret, want: "from-client||Enter passphrase: "},
		{name: "confirm", ask: p.Confirm, want: "from-client|confirm|Enter passphrase: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.ask("Enter passphrase: ")
			if err != nil || got != tt.want {
				t.Errorf("answer = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestPromptNoTTY: with askpass refused and no terminal, the question
// fails as one nobody can answer.
func TestPromptNoTTY(t *testing.T) {
	p := newPrompter(map[string]string{"SSH_ASKPASS_REQUIRE": "never"})
	p.tty = filepath.Join(t.TempDir(), "no-such-tty")
	if _, err := p.Secret("Password: "); !errors.Is(err, errNoPrompt) || !errors.Is(err, errNoTTY) {
		t.Errorf("Secret = %v, want errNoPrompt and errNoTTY", err)
	}
}

// TestPromptFileAsTTY: a terminal stand-in that is not a terminal is read
// as lines, even for a secret (there is no echo to turn off).
func TestPromptFileAsTTY(t *testing.T) {
	tty := filepath.Join(t.TempDir(), "tty")
	if err := os.WriteFile(tty, []byte("s3cret\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := readTTY(tty, "", false); err != nil || got != "s3cret" {
		t.Errorf("readTTY = %q, %v; want s3cret", got, err)
	}
}
