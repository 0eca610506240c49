package mux

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// privateDir makes dir if it does not exist, owned by the user and open to
// the user only (dirSDDL, made in one call, so there is no moment when
// others could enter), and checks that it is a real directory (not a
// symbolic link, junction or other reparse point) whose owner and access
// list keep others out (checkPrivateACL). Windows has no mode bits to
// check and no uids: uid is unused, the user is the SID of this process's
// token.
func privateDir(dir string, uid int) error {
	user, err := currentUserSID()
	if err != nil {
		return fmt.Errorf("mux: control directory: %w", err)
	}
	sddl, err := dirSDDL(user)
	if err != nil {
		return err
	}
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		return fmt.Errorf("mux: control directory: security descriptor: %w", err)
	}
	path, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return fmt.Errorf("mux: control directory: %w", err)
	}
	sa := windows.SecurityAttributes{SecurityDescriptor: sd}
	sa.Length = uint32(unsafe.Sizeof(sa))
	if err := windows.CreateDirectory(path, &sa); err != nil && !errors.Is(err, windows.ERROR_ALREADY_EXISTS) {
		return fmt.Errorf("mux: control directory %s: %w", dir, err)
	}

	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("mux: control directory: %w", err)
	}
	switch {
	case fi.Mode()&(fs.ModeSymlink|fs.ModeIrregular) != 0:
		return fmt.Errorf("%w %s: is a link or reparse point", ErrUnsafeControlDir, dir)
	case !fi.IsDir():
		return fmt.Errorf("%w %s: is not a directory", ErrUnsafeControlDir, dir)
	}
	owner, hasDACL, entries, err := dirSecurity(dir)
	if err != nil {
		return fmt.Errorf("mux: control directory %s: %w", dir, err)
	}
	return checkPrivateACL(dir, owner, user, hasDACL, entries)
}

// dirSecurity reads the owner and the DACL of dir.
func dirSecurity(dir string) (owner string, hasDACL bool, entries []aclEntry, err error) {
	sd, err := windows.GetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return "", false, nil, fmt.Errorf("read security: %w", err)
	}
	o, _, err := sd.Owner()
	if err != nil {
		return "", false, nil, fmt.Errorf("read owner: %w", err)
	}
	if o != nil {
		owner = o.String()
	}
	dacl, _, err := sd.DACL()
	switch {
	case errors.Is(err, windows.ERROR_OBJECT_NOT_FOUND):
		return owner, false, nil, nil // no DACL at all
	case err != nil:
		return "", false, nil, fmt.Errorf("read access list: %w", err)
	case dacl == nil:
		return owner, true, nil, nil
	}
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return "", false, nil, fmt.Errorf("read access entry %d: %w", i, err)
		}
		e := aclEntry{Type: ace.Header.AceType, Flags: ace.Header.AceFlags}
		if e.Type == aceAccessAllowed || e.Type == aceAccessDenied {
			// Both have the layout of ACCESS_ALLOWED_ACE, the SID last.
			e.SID = (*windows.SID)(unsafe.Pointer(&ace.SidStart)).String()
		}
		entries = append(entries, e)
	}
	return owner, true, entries, nil
}

// currentUserSID is the SID of the user this process runs as, as a string.
func currentUserSID() (string, error) {
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("current user: %w", err)
	}
	return tu.User.Sid.String(), nil
}
