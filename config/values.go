package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"
)

// This file holds the value syntaxes OpenSSH shares between the command line
// and the configuration files: times, ports, integers, "[user@]host[:port]"
// and "ssh://" URIs, and the checks on host and user names.

// parseTime parses an OpenSSH time ("30", "30s", "1m30s", "1h", "2d", "1w",
// "1.5s"), as misc.c's convtime does: a sequence of numbers, each with an
// optional unit (s, m, h, d, w, case-insensitive); a bare number is seconds
// and may appear once. Fractions are allowed for seconds only and are
// truncated, as OpenSSH does for every option that takes a time.
func parseTime(s string) (time.Duration, error) {
	errInvalid := errors.New("invalid time value")
	if s == "" {
		return 0, errInvalid
	}
	total := 0.0
	seenSeconds := false
	for p := s; p != ""; {
		n := 0
		for n < len(p) && (p[n] >= '0' && p[n] <= '9' || p[n] == '.') {
			n++
		}
		if n == 0 {
			return 0, errInvalid
		}
		num := p[:n]
		val, err := strconv.ParseFloat(num, 64)
		if err != nil || val < 0 {
			return 0, errInvalid
		}
		p = p[n:]
		unit := byte(0)
		if p != "" {
			unit = p[0]
			p = p[1:]
		}
		var mult float64
		switch unit {
		case 0, 's', 'S':
			if seenSeconds {
				return 0, errInvalid
			}
			seenSeconds = true
			mult = 1
		case 'm', 'M':
			mult = 60
		case 'h', 'H':
			mult = 3600
		case 'd', 'D':
			mult = 86400
		case 'w', 'W':
			mult = 604800
		default:
			return 0, errInvalid
		}
		if strings.Contains(num, ".") && (mult > 1 || num[len(num)-1] == '.') {
			return 0, errInvalid
		}
		total += val * mult
	}
	if total > math.MaxInt32 {
		return 0, errInvalid
	}
	return time.Duration(int64(total)) * time.Second, nil
}

func itoa(n int) string { return strconv.Itoa(n) }

// formatSeconds prints d in whole seconds, as ssh -G does.
func formatSeconds(d time.Duration) string {
	return strconv.FormatInt(int64(d/time.Second), 10)
}

// parsePort parses a port number 1..65535. OpenSSH's a2port also accepts
// service names from /etc/services; gitssh reads no such file.
func parsePort(s string) (int, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 || s[0] == '+' || s[0] == '-' {
		return 0, false
	}
	return n, true
}

// parseInt parses a non-negative integer the way OpenSSH's atoi_err does,
// returning its error words ("invalid", "too large") on failure.
func parseInt(s string) (int, string) {
	if s == "" {
		return 0, "missing"
	}
	n, err := strconv.ParseInt(s, 10, 64)
	switch {
	case err != nil && errors.Is(err, strconv.ErrRange) && s[0] != '-':
		return 0, "too large"
	case err != nil:
		return 0, "invalid"
	case n < 0:
		return 0, "too small"
	case n > math.MaxInt32:
		return 0, "too large"
	}
	return int(n), ""
}

// hostPort is one parsed "[user@]host[:port]" or "ssh://[user@]host[:port]".
type hostPort struct {
	user string
	host string
	port int // 0: not given
}

// parseSSHURI parses "ssh://[user@]host[:port][/]". isURI is false when s
// does not start with "ssh://". The user part may be percent-encoded and may
// carry ";params", which are ignored, as in OpenSSH. A path is not allowed.
// A host in brackets may be an IPv6 address (OpenSSH 9 rejects those; gitssh
// accepts them because git passes "ssh://[::1]:22/repo" through as
// "ssh://[::1]:22").
func parseSSHURI(s string) (hp hostPort, isURI bool, err error) {
	rest, isURI := strings.CutPrefix(s, "ssh://")
	if !isURI {
		return hostPort{}, false, nil
	}
	if userinfo, after, ok := strings.Cut(rest, "@"); ok {
		userinfo, _, _ = strings.Cut(userinfo, ";")
		if userinfo == "" {
			return hostPort{}, true, errors.New("empty user name")
		}
		user, ok := urlDecode(userinfo)
		if !ok {
			return hostPort{}, true, errors.New("bad percent-encoding in user name")
		}
		hp.user, rest = user, after
	}
	host, delim, rest, ok := splitHostDelim(rest)
	if !ok || host == "" {
		return hostPort{}, true, errors.New("bad host name")
	}
	if strings.HasPrefix(host, "[") {
		host = host[1 : len(host)-1]
		if net.ParseIP(host) == nil {
			return hostPort{}, true, errors.New("bad address in brackets")
		}
	} else if !validDomain(host) {
		return hostPort{}, true, errors.New("bad host name")
	}
	hp.host = host
	if delim == ':' {
		var portStr string
		portStr, rest, _ = strings.Cut(rest, "/")
		if portStr != "" {
			port, ok := parsePort(portStr)
			if !ok {
				return hostPort{}, true, errors.New("bad port '" + portStr + "'")
			}
			hp.port = port
		}
	}
	if rest != "" {
		return hostPort{}, true, errors.New("a path is not allowed")
	}
	return hp, true, nil
}

// splitHostDelim splits off a host (possibly "[...]") at the first ':' or
// '/', like OpenSSH's hpdelim2. delim is 0 when the host runs to the end.
func splitHostDelim(s string) (host string, delim byte, rest string, ok bool) {
	end := 0
	if strings.HasPrefix(s, "[") {
		i := strings.IndexByte(s, ']')
		if i < 0 {
			return "", 0, "", false
		}
		end = i + 1
		if end < len(s) && s[end] != ':' && s[end] != '/' {
			return "", 0, "", false
		}
	} else {
		end = strings.IndexAny(s, ":/")
		if end < 0 {
			end = len(s)
		}
	}
	if end == len(s) {
		return s, 0, "", true
	}
	return s[:end], s[end], s[end+1:], true
}

// parseUserHostPort parses "[user@]host[:port]" as OpenSSH's
// parse_user_host_port does: the user is everything before the last '@', a
// host in brackets may contain colons, and a '/' is not allowed.
func parseUserHostPort(s string) (hostPort, error) {
	var hp hostPort
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		if i == 0 {
			return hostPort{}, errors.New("empty user name")
		}
		hp.user, s = s[:i], s[i+1:]
	}
	host, delim, rest, ok := splitHostDelim(s)
	if !ok || host == "" || delim == '/' {
		return hostPort{}, errors.New("bad host name")
	}
	hp.host = cleanHostname(host)
	if rest != "" {
		port, ok := parsePort(rest)
		if !ok {
			return hostPort{}, errors.New("bad port '" + rest + "'")
		}
		hp.port = port
	}
	return hp, nil
}

// cleanHostname removes the brackets around an address.
func cleanHostname(h string) string {
	if len(h) >= 2 && h[0] == '[' && h[len(h)-1] == ']' {
		return h[1 : len(h)-1]
	}
	return h
}

// urlDecode decodes %XX escapes and '+' (space), refusing NUL, as OpenSSH's
// urldecode does.
func urlDecode(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b.WriteByte(' ')
		case '%':
			if i+2 >= len(s) {
				return "", false
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil || v == 0 {
				return "", false
			}
			b.WriteByte(byte(v))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// validDomain is OpenSSH's valid_domain without lowercasing: letters,
// digits, '-', '_' and '.', not starting with '-' or '.'. (OpenSSH requires
// "." not to start the name either; it checks URIs with it.)
func validDomain(s string) bool {
	if s == "" || s[0] == '-' || s[0] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// validHostname is OpenSSH's ssh_valid_hostname, applied to the host given
// on the command line: no leading '-', no shell metacharacters, no spaces or
// control characters.
func validHostname(s string) bool {
	if strings.HasPrefix(s, "-") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if strings.IndexByte("'`\"$\\;&<>|(){},", c) >= 0 || isSpace(c) || c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// validRemoteUser is OpenSSH's ssh_valid_ruser, applied to user names from
// the command line and to expanded User options.
func validRemoteUser(s string) bool {
	if strings.HasPrefix(s, "-") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || strings.IndexByte("'`\";&<>|(){}", c) >= 0 {
			return false
		}
		if isSpace(c) && i+1 < len(s) && s[i+1] == '-' {
			return false
		}
		if c == '\\' && i+1 == len(s) {
			return false
		}
	}
	return true
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// validEnvName reports whether s is a valid environment variable name for
// ${NAME}: letters, digits and '_'.
func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// maxJumpHops bounds the length of one ProxyJump list.
const maxJumpHops = 16

// parseJumpSpec parses a ProxyJump list: comma-separated hops, each
// "[user@]host[:port]" or "ssh://[user@]host[:port]".
func parseJumpSpec(spec string) ([]hostPort, error) {
	parts := strings.Split(spec, ",")
	if len(parts) > maxJumpHops {
		return nil, fmt.Errorf("more than %d hops", maxJumpHops)
	}
	hops := make([]hostPort, 0, len(parts))
	for _, p := range parts {
		hp, isURI, err := parseSSHURI(p)
		if !isURI {
			hp, err = parseUserHostPort(p)
		}
		if err != nil {
			return nil, fmt.Errorf("hop %q: %w", p, err)
		}
		hops = append(hops, hp)
	}
	return hops, nil
}
