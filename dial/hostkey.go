package dial

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gitssh/gitssh/config"
	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"
)

// hostKeyChecker verifies server host keys against the known_hosts files of
// one Destination and records new ones as StrictHostKeyChecking allows.
type hostKeyChecker struct {
	dest     config.Destination
	lookup   string // the name looked up in known_hosts: "host" or "[host]:port"
	db       *knownHostsDB
	prompter Prompter
	warnf    func(format string, args ...any)
	debugf   func(format string, args ...any)

	// seen is set once a host key was received: the key exchange worked.
	seen bool
	// onKey, if set, is called when the host key arrives, before it is
	// checked.
	onKey func()
}

func newHostKeyChecker(d config.Destination, prompter Prompter, warnf, debugf func(string, ...any)) (*hostKeyChecker, error) {
	files := append(append([]string(nil), d.UserKnownHostsFiles...), d.GlobalKnownHostsFiles...)
	db, err := loadKnownHosts(files, debugf)
	if err != nil {
		return nil, err
	}
	h := &hostKeyChecker{dest: d, db: db, prompter: prompter, warnf: warnf, debugf: debugf}
	h.lookup = lookupName(d)
	return h, nil
}

// lookupName is the host:port the known_hosts files are searched for: the
// HostKeyAlias as it is, or the host name with its port as OpenSSH writes
// it ("[host]:port" unless the port is 22).
func lookupName(d config.Destination) string {
	if d.HostKeyAlias != "" {
		return net.JoinHostPort(d.HostKeyAlias, "22")
	}
	return net.JoinHostPort(d.HostName, strconv.Itoa(d.Port))
}

// algorithms returns the host key algorithms to offer: those known_hosts
// holds for this host, so that a server with several key types never
// presents one we have no record of and looks changed. Empty means the
// library's defaults.
func (h *hostKeyChecker) algorithms() []string {
	if algs := h.dest.HostKeyAlgorithms; len(algs) > 0 && !strings.ContainsAny(algs[0][:1], "+-^") {
		return algs
	}
	return h.db.HostKeyAlgorithms(h.lookup)
}

// check is the ssh.HostKeyCallback.
func (h *hostKeyChecker) check(_ string, remote net.Addr, key ssh.PublicKey) error {
	h.seen = true
	if h.onKey != nil {
		h.onKey()
	}
	cb := h.db.HostKeyCallback()
	var err error
	if cert, ok := key.(*ssh.Certificate); ok {
		err = h.checkCert(cb, remote, cert)
		if errors.Is(err, errNoTrustedCA) {
			// As OpenSSH: a certificate no @cert-authority line vouches
			// for is checked, and recorded, as the plain host key.
			h.debugf("No matching CA found. Retry with plain key")
			key = cert.Key
			err = cb(h.lookup, remote, key)
		}
	} else {
		err = cb(h.lookup, remote, key)
	}
	if err == nil {
		return nil
	}
	shown := knownhosts.Normalize(h.lookup)
	base := HostKeyError{
		Host:        shown,
		KeyType:     keyTypeName(key),
		Fingerprint: ssh.FingerprintSHA256(key),
		AddFile:     h.addFile(),
	}
	var revoked *xknownhosts.RevokedError
	if errors.As(err, &revoked) {
		base.Problem = HostKeyRevoked
		base.KnownFile, base.KnownLine = h.db.fileName(revoked.Revoked.Filename), revoked.Revoked.Line
		return &base
	}
	var keyErr *xknownhosts.KeyError
	if !errors.As(err, &keyErr) {
		return fmt.Errorf("check host key: %w", err)
	}
	if len(keyErr.Want) > 0 {
		base.Problem = HostKeyChanged
		base.KnownFile, base.KnownLine = h.db.fileName(keyErr.Want[0].Filename), keyErr.Want[0].Line
		return &base
	}
	switch h.dest.StrictHostKeyChecking {
	case "no", "accept-new":
		return h.record(key, &base)
	case "ask":
		if h.prompter == nil || h.dest.BatchMode {
			base.Problem = HostKeyUnknown
			return &base
		}
		ok, err := h.ask(&base)
		if err != nil {
			base.Problem = HostKeyUnknown
			return &base
		}
		if !ok {
			base.Problem = HostKeyDeclined
			return &base
		}
		return h.record(key, &base)
	default:
		base.Problem = HostKeyUnknown
		return &base
	}
}

// errNoTrustedCA is a host certificate whose CA no @cert-authority line
// for the host names.
var errNoTrustedCA = errors.New("no matching CA found")

// checkCert checks a host certificate. A revoked CA or host key fails closed
// with a *xknownhosts.RevokedError (OpenSSH's check_key_not_revoked looks at
// both, trusted CA or not); a CA that is not trusted for the host is
// errNoTrustedCA; a trusted CA's certificate is checked by the library.
func (h *hostKeyChecker) checkCert(cb ssh.HostKeyCallback, remote net.Addr, cert *ssh.Certificate) error {
	for _, k := range []ssh.PublicKey{cert.SignatureKey, cert.Key} {
		// Revocation is looked at before the host name: any answer other
		// than RevokedError says nothing about this certificate.
		if err := cb(h.lookup, remote, k); errors.As(err, new(*xknownhosts.RevokedError)) {
			return err
		}
	}
	ca := cert.SignatureKey.Marshal()
	for _, k := range h.db.HostKeys(h.lookup) {
		if k.Cert && bytes.Equal(k.Marshal(), ca) {
			return cb(h.lookup, remote, cert)
		}
	}
	return errNoTrustedCA
}

// ask puts OpenSSH's question for an unknown host to the user.
func (h *hostKeyChecker) ask(e *HostKeyError) (bool, error) {
	q := fmt.Sprintf("The authenticity of host '%s' can't be established.\n"+
		"%s key fingerprint is %s.\n"+
		"This key is not known by any other names.\n"+
		"Are you sure you want to continue connecting (yes/no/[fingerprint])? ",
		e.Host, e.KeyType, e.Fingerprint)
	for {
		answer, err := h.prompter.Confirm(q)
		if err != nil {
			return false, err
		}
		switch a := strings.TrimSpace(answer); {
		case strings.EqualFold(a, "yes"):
			return true, nil
		case strings.EqualFold(a, "no"):
			return false, nil
		case a == e.Fingerprint:
			return true, nil
		case strings.HasPrefix(a, "SHA256:"):
			return false, nil
		}
		q = "Please type 'yes', 'no' or the fingerprint: "
	}
}

func (h *hostKeyChecker) addFile() string {
	if len(h.dest.UserKnownHostsFiles) == 0 {
		return ""
	}
	return h.dest.UserKnownHostsFiles[0]
}

// record appends the key to the user's first known_hosts file. A failure to
// write is a warning, as in OpenSSH: the connection itself is fine.
func (h *hostKeyChecker) record(key ssh.PublicKey, e *HostKeyError) error {
	file := h.addFile()
	if file == "" {
		return nil
	}
	name := knownhosts.Normalize(h.lookup)
	if h.dest.HashKnownHosts {
		name = xknownhosts.HashHostname(name)
	}
	line := xknownhosts.Line([]string{name}, key) + "\n"
	if err := appendLine(file, line); err != nil {
		h.warnf("Failed to add the host to the list of known hosts (%s): %v", file, err)
		return nil
	}
	h.warnf("Warning: Permanently added '%s' (%s) to the list of known hosts.", e.Host, e.KeyType)
	return nil
}

func appendLine(file, line string) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	// known_hosts may lack a final newline: never glue two entries.
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
			line = "\n" + line
		}
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// keyTypeName is how OpenSSH names a key type in messages: "ED25519",
// "ECDSA", "RSA".
func keyTypeName(key ssh.PublicKey) string {
	if cert, ok := key.(*ssh.Certificate); ok {
		return keyTypeName(cert.Key) + "-CERT"
	}
	t := key.Type()
	switch {
	case strings.Contains(t, "ed25519"):
		return "ED25519"
	case strings.Contains(t, "ecdsa"):
		return "ECDSA"
	case strings.Contains(t, "rsa"):
		return "RSA"
	case strings.Contains(t, "dss"):
		return "DSA"
	}
	return strings.ToUpper(t)
}
