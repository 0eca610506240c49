//go:build !unix && !windows

package mux

import (
	"fmt"
	"runtime"
)

// privateDir cannot tell here who may enter dir, so no directory is taken
// for private: the gitssh command runs in direct mode.
func privateDir(dir string, uid int) error {
	return fmt.Errorf("mux: control directory %s: private directories on %s: %w", dir, runtime.GOOS, ErrNotImplemented)
}
