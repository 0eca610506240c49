package dial

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"

	"github.com/gitssh/gitssh/config"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// authenticator offers one Destination's credentials to a server, in
// OpenSSH's order, and remembers which methods it tried so that a refusal
// can be reported as "Permission denied (publickey,password)."
type authenticator struct {
	dest     config.Destination
	authSock string
	prompter Prompter
	debugf   func(format string, args ...any)
	warnf    func(format string, args ...any)

	mu      sync.Mutex // guards the fields that follow
	tried   []string   // auth methods tried, in order, without "none"
	agentNC net.Conn   // the agent connection, closed by close
	locked  map[string]*lockedSigner
}

// authenticators are one Dial's authenticators, by Destination key.
type authenticators struct {
	mu sync.Mutex // guards m
	m  map[string]*authenticator
}

func (as *authenticators) get(d config.Destination, opts Options) *authenticator {
	as.mu.Lock()
	defer as.mu.Unlock()
	key := d.Key()
	a, ok := as.m[key]
	if !ok {
		a = &authenticator{dest: d, authSock: opts.AuthSock, prompter: opts.Prompter, debugf: opts.Debugf, warnf: opts.Warnf,
			locked: make(map[string]*lockedSigner)}
		as.m[key] = a
	}
	return a
}

func (a *authenticator) methods() []ssh.AuthMethod {
	var m []ssh.AuthMethod
	if a.dest.PubkeyAuthentication {
		m = append(m, ssh.PublicKeysCallback(a.signers))
	}
	if a.canPrompt() {
		prompts := max(a.dest.NumberOfPasswordPrompts, 1)
		if a.dest.KbdInteractiveAuthentication {
			m = append(m, ssh.RetryableAuthMethod(ssh.KeyboardInteractive(a.keyboardInteractive), prompts))
		}
		if a.dest.PasswordAuthentication {
			m = append(m, ssh.RetryableAuthMethod(ssh.PasswordCallback(a.password), prompts))
		}
	}
	return m
}

func (a *authenticator) canPrompt() bool {
	return a.prompter != nil && !a.dest.BatchMode
}

func (a *authenticator) note(method string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, t := range a.tried {
		if t == method {
			return
		}
	}
	a.tried = append(a.tried, method)
}

func (a *authenticator) triedMethods() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.tried) == 0 {
		return []string{"publickey"}
	}
	return append([]string(nil), a.tried...)
}

func (a *authenticator) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.agentNC != nil {
		a.agentNC.Close()
		a.agentNC = nil
	}
}

func (a *authenticator) password() (string, error) {
	a.note("password")
	return a.prompter.Secret(fmt.Sprintf("%s@%s's password: ", a.dest.User, a.dest.HostName))
}

func (a *authenticator) keyboardInteractive(name, instruction string, questions []string, echos []bool) ([]string, error) {
	a.note("keyboard-interactive")
	answers := make([]string, len(questions))
	for i, q := range questions {
		var err error
		if i < len(echos) && echos[i] {
			answers[i], err = a.prompter.Confirm(q)
		} else {
			answers[i], err = a.prompter.Secret(q)
		}
		if err != nil {
			return nil, err
		}
	}
	return answers, nil
}

// signers lists the public keys to offer, in OpenSSH's order: the
// configured identity files (through the agent when it holds them), then the
// agent's other keys unless IdentitiesOnly is set. Certificates come right
// before their plain keys.
func (a *authenticator) signers() ([]ssh.Signer, error) {
	a.note("publickey")
	agentKeys := a.agentSigners()
	var out []ssh.Signer
	used := make(map[string]bool)
	add := func(s ssh.Signer) {
		k := string(s.PublicKey().Marshal())
		if !used[k] {
			used[k] = true
			out = append(out, s)
		}
	}
	for _, path := range a.dest.IdentityFiles {
		s, err := a.loadIdentity(path, agentKeys)
		if err != nil {
			switch {
			case !errors.Is(err, os.ErrNotExist):
				a.debugf("identity file %s: %v", path, err)
			case !a.dest.DefaultIdentityFiles:
				a.warnf("Warning: Identity file %s not accessible: No such file or directory.", path)
			}
			continue
		}
		for _, c := range a.certificatesFor(path, s) {
			add(c)
		}
		add(s)
	}
	if !a.dest.IdentitiesOnly {
		for _, s := range agentKeys {
			add(s)
		}
	}
	for _, s := range out {
		a.debugf("Will attempt key: %s %s", s.PublicKey().Type(), ssh.FingerprintSHA256(s.PublicKey()))
	}
	return out, nil
}

func (a *authenticator) agentSigners() []ssh.Signer {
	sock := a.dest.AgentSocket(a.authSock)
	if sock == "" {
		return nil
	}
	nc, err := dialAgent(sock)
	if err != nil {
		a.debugf("agent %s: %v", sock, err)
		return nil
	}
	signers, err := agent.NewClient(nc).Signers()
	if err != nil {
		nc.Close()
		a.debugf("agent %s: %v", sock, err)
		return nil
	}
	a.mu.Lock()
	a.agentNC = nc
	a.mu.Unlock()
	return signers
}

// loadIdentity returns a signer for an identity file: the agent's when the
// agent holds the same key, the file's own when it is not encrypted, and one
// that asks for the passphrase on first use otherwise (so that only the key
// the server accepts costs a prompt).
func (a *authenticator) loadIdentity(path string, agentKeys []ssh.Signer) (ssh.Signer, error) {
	pemBytes, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	signer, err := ssh.ParsePrivateKey(pemBytes)
	var missing *ssh.PassphraseMissingError
	switch {
	case err == nil:
		return preferAgent(signer.PublicKey(), agentKeys, signer), nil
	case errors.As(err, &missing):
		pub := missing.PublicKey
		if pub == nil {
			if pub, err = readPublicKey(path + ".pub"); err != nil {
				return nil, fmt.Errorf("encrypted key without public half: %w", err)
			}
		}
		if s := preferAgent(pub, agentKeys, nil); s != nil {
			return s, nil
		}
		if !a.canPrompt() {
			return nil, errors.New("passphrase needed and nobody to ask")
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		l, ok := a.locked[path]
		if !ok {
			l = &lockedSigner{path: path, pub: pub, pem: pemBytes, prompter: a.prompter, prompts: a.dest.NumberOfPasswordPrompts}
			a.locked[path] = l
		}
		if l.gaveUp() {
			return nil, errors.New("passphrase not given")
		}
		return l, nil
	default:
		return nil, err
	}
}

func preferAgent(pub ssh.PublicKey, agentKeys []ssh.Signer, fallback ssh.Signer) ssh.Signer {
	for _, s := range agentKeys {
		if bytes.Equal(s.PublicKey().Marshal(), pub.Marshal()) {
			return s
		}
	}
	return fallback
}

// certificatesFor returns certificate signers for an identity: its
// "-cert.pub" file and any CertificateFile whose key is this identity's.
func (a *authenticator) certificatesFor(path string, s ssh.Signer) []ssh.Signer {
	var out []ssh.Signer
	for _, f := range append([]string{path + "-cert.pub"}, a.dest.CertificateFiles...) {
		pub, err := readPublicKey(f)
		if err != nil {
			continue
		}
		cert, ok := pub.(*ssh.Certificate)
		if !ok || !bytes.Equal(cert.Key.Marshal(), s.PublicKey().Marshal()) {
			continue
		}
		if cs, err := ssh.NewCertSigner(cert, s); err == nil {
			out = append(out, cs)
		}
	}
	return out
}

func readPublicKey(path string) (ssh.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(b)
	return pub, err
}

// lockedSigner is an encrypted private key that is decrypted, after asking
// for its passphrase, the first time the server wants a signature.
//
// A key that stays locked (wrong passphrases, nobody to ask) fails with
// errKeyLocked. x/crypto then gives up the handshake, where OpenSSH would
// go on to the next key; Dial connects again without the key (it is
// remembered as given up), so that the next key or method is tried and a
// final refusal reads "Permission denied".
type lockedSigner struct {
	path     string
	pub      ssh.PublicKey
	pem      []byte
	prompter Prompter
	prompts  int // how often to ask: NumberOfPasswordPrompts (0: never)

	mu       sync.Mutex // guards the fields that follow
	unlocked ssh.Signer
	failed   bool // asked and never unlocked: do not ask again
}

func (l *lockedSigner) PublicKey() ssh.PublicKey { return l.pub }

// errKeyLocked is a key whose passphrase was not given.
var errKeyLocked = errors.New("key stayed locked")

func (l *lockedSigner) Sign(rand io.Reader, data []byte) (*ssh.Signature, error) {
	return l.SignWithAlgorithm(rand, data, l.pub.Type())
}

func (l *lockedSigner) SignWithAlgorithm(rand io.Reader, data []byte, algorithm string) (*ssh.Signature, error) {
	s := l.unlock()
	if s == nil {
		return nil, fmt.Errorf("%s: %w", l.path, errKeyLocked)
	}
	if as, ok := s.(ssh.AlgorithmSigner); ok {
		return as.SignWithAlgorithm(rand, data, algorithm)
	}
	return s.Sign(rand, data)
}

// gaveUp reports whether the key was asked for and stayed locked.
func (l *lockedSigner) gaveUp() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed
}

// unlock asks for the passphrase, up to l.prompts times, and returns the
// decrypted key, or nil if it stays locked.
func (l *lockedSigner) unlock() ssh.Signer {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.unlocked != nil || l.failed {
		return l.unlocked
	}
	l.failed = true
	prompt := fmt.Sprintf("Enter passphrase for key '%s': ", l.path)
	for range l.prompts {
		pass, err := l.prompter.Secret(prompt)
		if err != nil {
			return nil
		}
		if s, err := ssh.ParsePrivateKeyWithPassphrase(l.pem, []byte(pass)); err == nil {
			l.unlocked, l.failed = s, false
			return s
		}
	}
	return nil
}
