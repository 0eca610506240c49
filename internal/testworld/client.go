package testworld

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
)

// Passphrase protects [ClientFiles.PassphraseKey].
const Passphrase = "gitssh-testworld-passphrase"

// DefaultAlias is the ssh_config Host alias conventionally given to the
// first server.
const DefaultAlias = "gitserver"

// ClientFiles are the files an ssh client needs to reach servers of the
// world: keys, a known_hosts and an ssh_config. Create them with
// [NewClientFiles] and add servers with [ClientFiles.AddServer].
//
// The ssh_config has one Host block per server alias (HostName 127.0.0.1
// and the server's Port) and a final "Host *" block with User,
// IdentityFile Key, IdentitiesOnly yes, UserKnownHostsFile KnownHosts and
// StrictHostKeyChecking yes. The "Host *" block makes URLs that name
// 127.0.0.1 and a port instead of an alias (ssh://USER@127.0.0.1:PORT/...)
// authenticate with the same files.
type ClientFiles struct {
	Dir string

	// User is the remote user name: the user running the servers.
	User string

	// Key is an unencrypted ed25519 private key that every added server
	// accepts. Its public key is Key+".pub", like all keys here.
	Key string

	// PassphraseKey is an ed25519 private key encrypted with [Passphrase]
	// that every added server accepts.
	PassphraseKey string

	// BadKey is an unencrypted ed25519 private key that no server accepts.
	BadKey string

	// KnownHosts holds the host keys of every added server.
	KnownHosts string

	// SSHConfig is the ssh_config described above, for ssh -F.
	SSHConfig string

	// mu guards the field that follows.
	mu    sync.Mutex
	hosts []hostEntry
}

type hostEntry struct {
	alias string
	port  int
}

// NewClientFiles writes fresh client keys, an empty known_hosts and an
// ssh_config without servers into dir (created if missing).
func NewClientFiles(dir string) (*ClientFiles, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	u, err := user.Current()
	if err != nil {
		return nil, fmt.Errorf("testworld: %w", err)
	}
	c := &ClientFiles{
		Dir:           dir,
		User:          u.Username,
		Key:           filepath.Join(dir, "id_ed25519"),
		PassphraseKey: filepath.Join(dir, "id_ed25519_passphrase"),
		BadKey:        filepath.Join(dir, "id_ed25519_refused"),
		KnownHosts:    filepath.Join(dir, "known_hosts"),
		SSHConfig:     filepath.Join(dir, "ssh_config"),
	}
	for _, k := range []struct{ path, passphrase string }{
		{c.Key, ""},
		{c.PassphraseKey, Passphrase},
		{c.BadKey, ""},
	} {
		if err := keygen(k.path, "ed25519", "", k.passphrase); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(c.KnownHosts, nil, 0o600); err != nil {
		return nil, err
	}
	if err := c.writeConfig(); err != nil {
		return nil, err
	}
	return c, nil
}

// Server is what [ClientFiles.AddServer] needs of a server: [SSHD],
// [Dropbear] and [TinySSHD] are.
type Server interface {
	Port() int
	AuthorizedKeysPath() string
	HostKeyLines(host string) []string
}

// AddServer authorizes Key and PassphraseKey on s, adds s's host keys to
// KnownHosts, and adds "Host alias" for s to SSHConfig.
func (c *ClientFiles) AddServer(alias string, s Server) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var auth []byte
	for _, k := range []string{c.Key, c.PassphraseKey} {
		pub, err := os.ReadFile(k + ".pub")
		if err != nil {
			return err
		}
		auth = append(auth, pub...)
	}
	if err := appendFile(s.AuthorizedKeysPath(), auth); err != nil {
		return err
	}
	if err := appendFile(c.KnownHosts, []byte(strings.Join(s.HostKeyLines(""), "\n")+"\n")); err != nil {
		return err
	}
	c.hosts = append(c.hosts, hostEntry{alias, s.Port()})
	return c.writeConfigLocked()
}

func (c *ClientFiles) writeConfig() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writeConfigLocked()
}

func (c *ClientFiles) writeConfigLocked() error {
	return os.WriteFile(c.SSHConfig, []byte(c.configTextLocked()), 0o600)
}

// ConfigText returns the text of SSHConfig.
func (c *ClientFiles) ConfigText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.configTextLocked()
}

func (c *ClientFiles) configTextLocked() string {
	var b strings.Builder
	b.WriteString("# Written by gitssh's internal/testworld.\n")
	for _, h := range c.hosts {
		fmt.Fprintf(&b, "\nHost %s\n  HostName 127.0.0.1\n  Port %d\n", h.alias, h.port)
	}
	fmt.Fprintf(&b, "\nHost *\n")
	fmt.Fprintf(&b, "  User %s\n", c.User)
	fmt.Fprintf(&b, "  IdentityFile %s\n", c.Key)
	fmt.Fprintf(&b, "  IdentitiesOnly yes\n")
	fmt.Fprintf(&b, "  UserKnownHostsFile %s\n", c.KnownHosts)
	fmt.Fprintf(&b, "  StrictHostKeyChecking yes\n")
	return b.String()
}

func appendFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
