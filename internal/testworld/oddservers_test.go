//go:build unix

package testworld

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// oddServerClient returns client files for s, added as Host alias.
func oddServerClient(t *testing.T, alias string, s Server) *ClientFiles {
	t.Helper()
	c, err := NewClientFiles(filepath.Join(t.TempDir(), "client"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddServer(alias, s); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDropbearAcceptsKeyInPrivateHome(t *testing.T) {
	RequireTools(t, "dropbear", "dropbearkey", "ssh", "ssh-keygen")
	b, err := StartDropbear(filepath.Join(t.TempDir(), "dropbear"), DropbearOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Stop() })
	c := oddServerClient(t, "dropbear", b)
	out, err := sshCmd(t, "-F", c.SSHConfig, "dropbear", "echo $HOME").CombinedOutput()
	if want := b.HomeDir() + "\n"; err != nil || string(out) != want {
		t.Fatalf("ssh dropbear echo $HOME = %q, %v; want %q\n%s", out, err, want, readLog(b.LogPath()))
	}
	if real, _ := os.UserHomeDir(); real != "" && strings.HasPrefix(b.AuthorizedKeysPath(), real+"/.ssh") {
		t.Errorf("authorized_keys %s is in the real ~/.ssh", b.AuthorizedKeysPath())
	}
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	if out, err := sshCmd(t, "-F", c.SSHConfig, "dropbear", "true").CombinedOutput(); err == nil {
		t.Errorf("ssh after Stop succeeded: %q", out)
	}
}

func TestTinySSHDOneSessionPerConnection(t *testing.T) {
	RequireTools(t, "tinysshd", "tinysshd-makekey", "tinysshd-printkey", "ssh", "ssh-keygen")
	s, err := StartTinySSHD(filepath.Join(t.TempDir(), "tinysshd"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	c := oddServerClient(t, "tinysshd", s)
	for i := range 2 {
		out, err := sshCmd(t, "-F", c.SSHConfig, "tinysshd", "echo hi").CombinedOutput()
		if err != nil || string(out) != "hi\n" {
			t.Fatalf("ssh tinysshd echo hi (%d) = %q, %v\n%s", i, out, err, readLog(s.LogPath()))
		}
	}
	if got := s.Accepted(); got != 2 {
		t.Errorf("Accepted() = %d, want 2", got)
	}
	home := filepath.Dir(filepath.Dir(s.AuthorizedKeysPath()))
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(home, s.dir) {
		if _, err := os.Stat(home); !os.IsNotExist(err) {
			t.Errorf("home %s outside the server's directory left after Stop (%v)", home, err)
		}
	}
}

func readLog(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}
