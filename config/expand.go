package config

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// This file expands "%" tokens, "${VAR}" and a leading "~" the way ssh
// does (see TOKENS in ssh_config(5)), each option with its own token set.

// tokenValues are the values of the tokens for one destination.
type tokenValues struct {
	localHost string // %l: the local host name, including the domain name
	home      string // %d
	localUser string // %u
	uid       string // %i
	host      string // %h: the remote host name (HostName applied)
	alias     string // %n: the host as given on the command line
	port      string // %p
	user      string // %r
	keyAlias  string // %k: HostKeyAlias, or %n
	jumpHost  string // %j: the last ProxyJump host, or ""
}

// tokenSet names which tokens an option accepts.
type tokenSet int

const (
	// tokensHostname: HostName (%h is the host as given).
	tokensHostname tokenSet = iota
	// tokensProxy: ProxyCommand and ProxyJump.
	tokensProxy
	// tokensNoUser: User (it cannot refer to itself, nor to %C).
	tokensNoUser
	// tokensDefault: IdentityFile, CertificateFile, IdentityAgent,
	// UserKnownHostsFile, ControlPath, SetEnv values, Include, ...
	tokensDefault
)

func (t tokenValues) lookup(set tokenSet, key byte) (string, bool) {
	switch set {
	case tokensHostname:
		if key == 'h' {
			return t.host, true
		}
		return "", false
	case tokensProxy:
		switch key {
		case 'h':
			return t.host, true
		case 'k':
			return t.keyAlias, true
		case 'n':
			return t.alias, true
		case 'p':
			return t.port, true
		case 'r':
			return t.user, true
		}
		return "", false
	}
	switch key {
	case 'L':
		short, _, _ := strings.Cut(t.localHost, ".")
		return short, true
	case 'i':
		return t.uid, true
	case 'k':
		return t.keyAlias, true
	case 'l':
		return t.localHost, true
	case 'n':
		return t.alias, true
	case 'p':
		return t.port, true
	case 'd':
		return t.home, true
	case 'h':
		return t.host, true
	case 'u':
		return t.localUser, true
	case 'j':
		return t.jumpHost, true
	}
	if set == tokensDefault {
		switch key {
		case 'C':
			return t.connectionHash(), true
		case 'r':
			return t.user, true
		}
	}
	return "", false
}

// connectionHash is %C: the SHA-1 of %l%h%p%r%j in hex, as OpenSSH's
// ssh_connection_hash computes it.
func (t tokenValues) connectionHash() string {
	sum := sha1.Sum([]byte(t.localHost + t.host + t.port + t.user + t.jumpHost))
	return hex.EncodeToString(sum[:])
}

// expander expands one option value.
type expander struct {
	tokens tokenValues
	getenv func(string) string
}

// expand replaces the tokens of set in s and, with dollar, ${VAR}
// references, in one pass like OpenSSH's percent_dollar_expand: text
// inserted by one expansion is not expanded again. A variable that is unset
// or empty is an error, as is an unknown token.
func (e expander) expand(s string, set tokenSet, dollar bool) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if dollar && c == '$' && i+1 < len(s) && s[i+1] == '{' {
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", fmt.Errorf("environment variable '%s' missing closing '}'", s[i+2:])
			}
			name := s[i+2 : i+2+end]
			if name == "" {
				return "", errors.New("zero-length environment variable")
			}
			val := e.env(name)
			if val == "" {
				return "", fmt.Errorf("env var ${%s} has no value", name)
			}
			b.WriteString(val)
			i += 2 + end
			continue
		}
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(s) {
			return "", errors.New("percent_expand: invalid format")
		}
		if s[i] == '%' {
			b.WriteByte('%')
			continue
		}
		val, ok := e.tokens.lookup(set, s[i])
		if !ok {
			return "", fmt.Errorf("percent_expand: unknown key %%%c", s[i])
		}
		b.WriteString(val)
	}
	return b.String(), nil
}

func (e expander) env(name string) string {
	if e.getenv == nil {
		return ""
	}
	return e.getenv(name)
}

// checkDollar reports an error if s has a ${VAR} reference that cannot be
// expanded. OpenSSH checks this when it reads IdentityAgent and the path
// form of ForwardAgent.
func checkDollar(s string, getenv func(string) string) error {
	_, err := expander{getenv: getenv}.expand(strings.ReplaceAll(s, "%", "%%"), tokensHostname, true)
	return err
}

// expandTilde replaces a leading "~" or "~/" with home, as OpenSSH's
// tilde_expand does for the local user. "~user" names another user's home,
// which gitssh does not look up: ok is false and path is returned unchanged.
func expandTilde(path, home, localUser string) (string, bool) {
	if !strings.HasPrefix(path, "~") {
		return path, true
	}
	rest := path[1:]
	if rest != "" && rest[0] != '/' {
		user, after, _ := strings.Cut(rest, "/")
		if user != localUser || localUser == "" {
			return path, false
		}
		rest = "/" + after
	}
	rest = strings.TrimLeft(rest, "/")
	if !strings.HasSuffix(home, "/") {
		home += "/"
	}
	return home + rest, true
}
