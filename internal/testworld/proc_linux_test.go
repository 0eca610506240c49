package testworld

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func TestMentionsPath(t *testing.T) {
	tests := []struct {
		cmdline, path string
		want          bool
	}{
		{"gitssh\x00--master\x00/tmp/s/script-a1/ctl\x00", "/tmp/s/script-a1", true},
		{"sh\x00-c\x00cat /tmp/s/script-a1 'x'\x00", "/tmp/s/script-a1", true},
		{"git\x00init\x00/tmp/s/script-a10/repos/r3.git\x00", "/tmp/s/script-a1", false},
		{"git\x00init\x00/tmp/s/script-a10/r\x00/tmp/s/script-a1\x00", "/tmp/s/script-a1", true},
		{"sleep\x0010\x00", "/tmp/s/script-a1", false},
	}
	for _, tt := range tests {
		if got := mentionsPath(tt.cmdline, tt.path); got != tt.want {
			t.Errorf("mentionsPath(%q, %q) = %v, want %v", tt.cmdline, tt.path, got, tt.want)
		}
	}
}

func TestRunningZombie(t *testing.T) {
	// A child that has exited but that nobody has waited for is a zombie:
	// kill(pid, 0) still succeeds, and Running must say no.
	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	defer cmd.Wait()
	for deadline := time.Now().Add(10 * time.Second); !isZombie(pid); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("child %d never became a zombie", pid)
		}
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("kill(%d, 0) = %v; a zombie still exists", pid, err)
	}
	if Running(pid) {
		t.Errorf("Running(%d) = true for a zombie", pid)
	}
	if !Running(os.Getpid()) {
		t.Errorf("Running(self) = false")
	}
}
