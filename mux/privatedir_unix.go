//go:build unix

package mux

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// privateDir makes dir with mode 0700 if it does not exist, and checks
// that it is a directory, not a symbolic link, owned by uid, mode 0700.
func privateDir(dir string, uid int) error {
	switch err := os.Mkdir(dir, 0o700); {
	case err == nil:
		// The umask may have taken bits away; put back exactly 0700.
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("mux: control directory: %w", err)
		}
	case !errors.Is(err, fs.ErrExist):
		return fmt.Errorf("mux: control directory: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("mux: control directory: %w", err)
	}
	unsafe := func(format string, args ...any) error {
		return fmt.Errorf("%w %s: %s", ErrUnsafeControlDir, dir, fmt.Sprintf(format, args...))
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return unsafe("is a symbolic link")
	case !fi.IsDir():
		return unsafe("is not a directory")
	}
	owner, err := fileOwner(fi)
	if err != nil {
		return fmt.Errorf("mux: control directory: %w", err)
	}
	if owner != uid {
		return unsafe("is owned by uid %d, not %d", owner, uid)
	}
	const want = fs.ModeDir | 0o700
	if got := fi.Mode() & (fs.ModeDir | fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky); got != want {
		return unsafe("has mode %v, want %v", got, want)
	}
	return nil
}
