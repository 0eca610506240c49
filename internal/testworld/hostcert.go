package testworld

import (
	"fmt"
	"os/exec"
	"path/filepath"
)

// hostCertPath is where the certificate of a host key is written.
func hostCertPath(keyPath string) string { return keyPath + "-cert.pub" }

// signHostKeys signs every host key in dir with the CA private key ca, as
// host certificates for 127.0.0.1 (ssh-keygen -s CA -h).
func signHostKeys(dir, ca string) error {
	keygenPath, err := LookTool("ssh-keygen")
	if err != nil {
		return fmt.Errorf("testworld: ssh-keygen not found: %w", err)
	}
	for _, k := range hostKeyTypes {
		pub := filepath.Join(dir, "ssh_host_"+k.typ+"_key.pub")
		out, err := exec.Command(keygenPath, "-q", "-s", ca, "-h", "-I", "gitssh-testworld-host", "-n", "127.0.0.1", pub).CombinedOutput()
		if err != nil {
			return fmt.Errorf("testworld: sign host key %s: %w\n%s", pub, err, out)
		}
	}
	return nil
}
