package dial

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
)

// ConnectError is a failure to open the transport to a server: refused,
// unreachable or timed out.
type ConnectError struct {
	Host string
	Port string
	Err  error
}

func (e *ConnectError) Error() string {
	return fmt.Sprintf("connect to host %s port %s: %s", e.Host, e.Port, Reason(e.Err))
}

func (e *ConnectError) Unwrap() error { return e.Err }

// ResolveError is a host name that does not resolve.
type ResolveError struct {
	Host string
	Err  error
}

func (e *ResolveError) Error() string {
	return fmt.Sprintf("Could not resolve hostname %s: %s", e.Host, Reason(e.Err))
}

func (e *ResolveError) Unwrap() error { return e.Err }

// HandshakeError is a failure after the transport was open and before the
// user was authenticated: the server closed or reset the connection (as
// OpenSSH's MaxStartups does under load), or key exchange failed.
type HandshakeError struct {
	Host string
	Port string
	// BeforeKex is true when the connection broke before the server's host
	// key was seen: nothing was learned and a retry is safe.
	BeforeKex bool
	Err       error
}

func (e *HandshakeError) Error() string {
	if e.BeforeKex {
		return "kex_exchange_identification: " + Reason(e.Err)
	}
	return fmt.Sprintf("ssh handshake with %s port %s: %v", e.Host, e.Port, e.Err)
}

func (e *HandshakeError) Unwrap() error { return e.Err }

// ProxyExitError is a ProxyCommand that ended the connection through it by
// exiting unsuccessfully: its own failure, which running it again would
// repeat. Err is what reading from or writing to it returned.
type ProxyExitError struct {
	Command string
	Status  int // the exit status; -1 if a signal ended it
	Err     error
}

func (e *ProxyExitError) Error() string {
	return fmt.Sprintf("proxy command %q exited with status %d: %v", e.Command, e.Status, e.Err)
}

func (e *ProxyExitError) Unwrap() error { return e.Err }

// AuthError is a server that accepted none of the credentials offered.
type AuthError struct {
	User    string
	Host    string
	Methods []string // the methods that were tried, e.g. "publickey"
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("%s@%s: Permission denied (%s).", e.User, e.Host, strings.Join(e.Methods, ","))
}

// HostKeyProblem says what is wrong with a server's host key.
type HostKeyProblem int

const (
	// HostKeyUnknown is a host with no key on file, refused by
	// StrictHostKeyChecking yes, or by ask with nobody to ask.
	HostKeyUnknown HostKeyProblem = iota + 1
	// HostKeyChanged is a host whose key differs from the one on file.
	HostKeyChanged
	// HostKeyRevoked is a key marked @revoked.
	HostKeyRevoked
	// HostKeyDeclined is an unknown key the user answered "no" to.
	HostKeyDeclined
)

// HostKeyError refuses a connection because of the server's host key.
type HostKeyError struct {
	Problem     HostKeyProblem
	Host        string // as looked up in known_hosts, e.g. "[127.0.0.1]:2222"
	KeyType     string // e.g. "ED25519"
	Fingerprint string // SHA256:...
	// KnownFile and KnownLine locate the offending known_hosts entry for
	// HostKeyChanged and HostKeyRevoked.
	KnownFile string
	KnownLine int
	// AddFile is where the key would be recorded.
	AddFile string
}

func (e *HostKeyError) Error() string {
	switch e.Problem {
	case HostKeyChanged:
		return fmt.Sprintf("host key for %s has changed (offending key in %s:%d)", e.Host, e.KnownFile, e.KnownLine)
	case HostKeyRevoked:
		return fmt.Sprintf("host key for %s is marked as revoked", e.Host)
	case HostKeyDeclined:
		return fmt.Sprintf("host key for %s was not accepted", e.Host)
	default:
		return fmt.Sprintf("no %s host key is known for %s", e.KeyType, e.Host)
	}
}

// Reason words a network error the way OpenSSH does ("Connection refused",
// "Connection timed out"), falling back to the error's own text.
func Reason(err error) string {
	var dnsErr *net.DNSError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "Connection closed by remote host"
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "Name or service not known"
		}
		if dnsErr.IsTimeout {
			return "Temporary failure in name resolution"
		}
		return dnsErr.Err
	case errors.Is(err, syscall.ECONNREFUSED):
		return "Connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "Connection reset by peer"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "No route to host"
	case errors.Is(err, syscall.ENETUNREACH):
		return "Network is unreachable"
	case errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, os.ErrDeadlineExceeded), isTimeout(err):
		return "Connection timed out"
	case errors.Is(err, syscall.EPIPE):
		return "Broken pipe"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
