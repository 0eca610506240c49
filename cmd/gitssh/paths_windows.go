package main

// controlDirEnv returns the directories the control directory may go in
// (mux.ControlDirOptions): %LOCALAPPDATA% (so %LOCALAPPDATA%\gitssh), or
// the user's %TEMP% if that is unset.
func controlDirEnv(env map[string]string) (runtimeDir, tempDir string) {
	return env["LOCALAPPDATA"], env["TEMP"]
}

// cacheHome is the user's cache directory, %LOCALAPPDATA%: the limits
// cache is %LOCALAPPDATA%\gitssh\limits.json, beside the control pipe's
// lock and the master's log.
func cacheHome(env map[string]string) string { return env["LOCALAPPDATA"] }

// agentSocket is the agent the client offers when SSH_AUTH_SOCK is unset:
// the Windows OpenSSH agent's named pipe, as Windows' own ssh uses.
func agentSocket(env map[string]string) string {
	if s := env["SSH_AUTH_SOCK"]; s != "" {
		return s
	}
	return `\\.\pipe\openssh-ssh-agent`
}
