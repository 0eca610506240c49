//go:build unix

package main

import "runtime"

// controlDirEnv returns the directories the control directory may go in
// (mux.ControlDirOptions): $XDG_RUNTIME_DIR, and on macOS $TMPDIR, which
// is per user there (/var/folders/...) and usually where XDG_RUNTIME_DIR
// is unset. Elsewhere $TMPDIR is often the shared /tmp and is not used.
func controlDirEnv(env map[string]string) (runtimeDir, tempDir string) {
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		tempDir = env["TMPDIR"]
	}
	return env["XDG_RUNTIME_DIR"], tempDir
}

// cacheHome is the user's cache directory, $XDG_CACHE_HOME, or "" for
// ~/.cache.
func cacheHome(env map[string]string) string { return env["XDG_CACHE_HOME"] }

// agentSocket is the agent the client offers: $SSH_AUTH_SOCK, or none.
func agentSocket(env map[string]string) string { return env["SSH_AUTH_SOCK"] }
