package testworld

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
)

// privateHome is a home directory for the user running the tests, seen only
// by the servers started with its environment: dropbear and tinysshd find
// authorized_keys through the password database (not $HOME), so they run
// under nss_wrapper (Debian's libnss-wrapper) with a passwd file of our own
// whose entry for this user points here. Nothing touches the real ~/.ssh.
type privateHome struct {
	dir string   // the home directory; dir/.ssh/authorized_keys
	env []string // LD_PRELOAD and NSS_WRAPPER_* for the server process
}

// nssWrapperLibs are where Debian and others install nss_wrapper.
var nssWrapperLibs = []string{
	"/usr/lib/*/libnss_wrapper.so",
	"/usr/lib/libnss_wrapper.so",
	"/usr/lib64/libnss_wrapper.so",
	"/usr/local/lib/libnss_wrapper.so",
}

// NSSWrapper returns the path of nss_wrapper's library, which the
// non-OpenSSH servers need.
func NSSWrapper() (string, error) {
	for _, pattern := range nssWrapperLibs {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			return m[0], nil
		}
	}
	return "", errors.New("testworld: libnss_wrapper.so not found (Debian: apt-get install libnss-wrapper)")
}

// newPrivateHome makes dir (with dir/.ssh and an empty authorized_keys,
// modes as strict servers want them) and the passwd and group files in
// filesDir.
func newPrivateHome(dir, filesDir string) (*privateHome, error) {
	lib, err := NSSWrapper()
	if err != nil {
		return nil, err
	}
	u, err := user.Current()
	if err != nil {
		return nil, fmt.Errorf("testworld: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, ".ssh"), 0o700); err != nil {
		return nil, err
	}
	for _, d := range []string{dir, filepath.Join(dir, ".ssh")} {
		mode := os.FileMode(0o755)
		if strings.HasSuffix(d, ".ssh") {
			mode = 0o700
		}
		if err := os.Chmod(d, mode); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, ".ssh", authorizedKeysName), nil, 0o600); err != nil {
		return nil, err
	}
	passwd := filepath.Join(filesDir, "passwd")
	group := filepath.Join(filesDir, "group")
	if err := os.WriteFile(passwd, fmt.Appendf(nil, "%s:x:%s:%s:gitssh testworld:%s:/bin/sh\n", u.Username, u.Uid, u.Gid, dir), 0o644); err != nil {
		return nil, err
	}
	gname := u.Username
	if g, err := user.LookupGroupId(u.Gid); err == nil {
		gname = g.Name
	}
	if err := os.WriteFile(group, fmt.Appendf(nil, "%s:x:%s:\n", gname, u.Gid), 0o644); err != nil {
		return nil, err
	}
	return &privateHome{dir: dir, env: []string{
		"LD_PRELOAD=" + lib,
		"NSS_WRAPPER_PASSWD=" + passwd,
		"NSS_WRAPPER_GROUP=" + group,
		"HOME=" + dir,
	}}, nil
}

// AuthorizedKeysPath returns the path of the home's authorized_keys.
func (h *privateHome) AuthorizedKeysPath() string {
	return filepath.Join(h.dir, ".ssh", authorizedKeysName)
}

// serverEnv is the environment a server process starts with: a minimal
// PATH and the private home's variables, nothing of the test's own.
func (h *privateHome) serverEnv() []string {
	return append([]string{"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"}, h.env...)
}
