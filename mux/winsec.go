package mux

// The platform-neutral half of the Windows control endpoint: the pipe's
// name, the security descriptors in SDDL, and the rule that decides whether
// a control directory's access list is private. The Windows calls that
// gather the facts are in socket_windows.go and privatedir_windows.go; what
// is decided here is tested on every system.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// pipeName is the named pipe a Windows master listens on for the control
// socket path SocketPath(dir): \\.\pipe\gitssh-<hash>, the hash being the
// first 128 bits of SHA-256 of the path in lower case (Windows paths are
// case-insensitive). The path itself is never made: named pipes live in
// their own namespace, shared by every user of the machine, so the name
// only has to be distinct per control directory (which is per user); who
// may open it is the security descriptor's business (pipeSDDL), and both
// sides check the other's user (checkPeer, dialControl).
func pipeName(socketPath string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(socketPath)))
	return `\\.\pipe\gitssh-` + hex.EncodeToString(sum[:16])
}

// pipeSDDL is the security descriptor of the control pipe: a protected
// DACL (nothing inherited) that grants the user's SID, and nobody else,
// full access.
func pipeSDDL(sid string) (string, error) {
	if !validSID(sid) {
		return "", fmt.Errorf("mux: control pipe: bad SID %q", sid)
	}
	return "D:P(A;;GA;;;" + sid + ")", nil
}

// dirSDDL is the security descriptor a new control directory is made
// with, the Windows form of mode 0700: owned by the user, and a protected
// DACL that grants the user full access, inherited by the files made in it
// (the lock, the log, the limits cache).
func dirSDDL(sid string) (string, error) {
	if !validSID(sid) {
		return "", fmt.Errorf("mux: control directory: bad SID %q", sid)
	}
	return "O:" + sid + "D:P(A;OICI;FA;;;" + sid + ")", nil
}

// validSID reports whether s has the shape of a SID string, S-1-N-N...,
// so that it cannot change the meaning of an SDDL string it is put in.
func validSID(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || parts[0] != "S" {
		return false
	}
	for _, p := range parts[1:] {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}

// Well-known SIDs that may hold access to a private directory: they can
// take any file on the machine anyway, as root can on Unix.
const (
	sidLocalSystem    = "S-1-5-18"     // NT AUTHORITY\SYSTEM
	sidAdministrators = "S-1-5-32-544" // BUILTIN\Administrators
)

// ACE types and flags, from winnt.h.
const (
	aceAccessAllowed              = 0x0
	aceAccessDenied               = 0x1
	aceAccessDeniedObject         = 0x6
	aceAccessDeniedCallback       = 0xA
	aceAccessDeniedCallbackObject = 0xC
	aceInheritOnly                = 0x8 // flag: applies to children, not to the object
)

// aclEntry is one access control entry of a directory's DACL, as far as
// privacy is concerned. SID is empty for an entry whose SID was not read
// (a type other than plain allow or deny).
type aclEntry struct {
	Type  byte
	Flags byte
	SID   string
}

// checkPrivateACL is the Windows counterpart of the 0700 check: dir must
// be owned by user, have a DACL (no DACL lets everyone in), and every
// entry that grants access to dir itself must name the user, SYSTEM or
// Administrators. Deny entries and entries that only children inherit
// cannot let anyone in. An allow entry of any other kind (callback, object)
// is refused, since gitssh does not read whom it admits.
func checkPrivateACL(dir, owner, user string, hasDACL bool, entries []aclEntry) error {
	unsafe := func(format string, args ...any) error {
		return fmt.Errorf("%w %s: %s", ErrUnsafeControlDir, dir, fmt.Sprintf(format, args...))
	}
	if owner != user {
		return unsafe("is owned by %s, not %s", owner, user)
	}
	if !hasDACL {
		return unsafe("has no access list, so everyone may use it")
	}
	for _, e := range entries {
		switch {
		case e.Flags&aceInheritOnly != 0:
		case e.Type == aceAccessDenied || e.Type == aceAccessDeniedObject ||
			e.Type == aceAccessDeniedCallback || e.Type == aceAccessDeniedCallbackObject:
		case e.Type != aceAccessAllowed:
			return unsafe("has an access entry of type %#x that gitssh cannot read", e.Type)
		case e.SID != user && e.SID != sidLocalSystem && e.SID != sidAdministrators:
			return unsafe("grants access to %s", e.SID)
		}
	}
	return nil
}
