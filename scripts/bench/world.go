//go:build unix

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gitssh/gitssh/internal/testworld"
)

// Host aliases of the bench's ssh_config.
const (
	aliasMS10 = "gitserver"      // sshd with MaxSessions 10
	aliasMS1  = "gitserver1"     // sshd with MaxSessions 1
	aliasSlow = "gitserver-slow" // the MaxSessions 10 sshd through the delay proxy
)

const oneWayDelay = 25 * time.Millisecond

// bench holds everything a run made: the temporary directory, the worlds
// and the transports. cleanup undoes it.
type bench struct {
	opt options
	sz  sizes
	log io.Writer

	tmp     string // everything the run makes lives here
	gitssh  string // the binary built from ./cmd/gitssh
	cfg     string // the ssh_config every transport uses (-F)
	repos   string // bare repositories r1.git ... served by every sshd
	workDir string // clones and other per-run output, emptied after each run
	logDir  string // stderr of every run
	devNull *os.File

	ms10, ms1 *testworld.SSHD
	proxy     *testworld.DelayProxy

	baseEnv    []string
	transports []*transport

	pushSerial int   // push-mirror-seq: commits added so far
	largeBytes int64 // clone-large: size of the generated repository's packs

	stopOnce sync.Once
}

// transport is one way of running ssh for git.
type transport struct {
	name string
	argv []string // the ssh command as argv (for direct use)
	// gitConfig, if set, is the global git config that names the ssh
	// command (GIT_CONFIG_GLOBAL) instead of GIT_SSH_COMMAND.
	gitConfig string
	// env is added to the environment of its commands.
	env []string
}

// sshCommand is the transport's GIT_SSH_COMMAND.
func (t *transport) sshCommand() string {
	q := make([]string, len(t.argv))
	for i, a := range t.argv {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=%:,@+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Transport names, in their base order (rotated per repetition).
const (
	tSSH    = "ssh"
	tSSHCM  = "ssh-cm"
	tGitssh = "gitssh"
	// tGitsshSetup is gitssh as "gitssh --setup" leaves git:
	// core.sshCommand and ssh.variant ssh in the global git config, so no
	// "gitssh -G" probe before each command.
	tGitsshSetup = "gitssh-setup"
	// tGitsshRelay is gitssh-setup with GITSSH_RELAY=1: the client relays
	// its stdio over the control socket, as on Windows, instead of passing
	// the descriptors.
	tGitsshRelay = "gitssh-relay"
	tLocal       = "local"
)

var allTransports = []string{tSSH, tSSHCM, tGitssh, tGitsshSetup, tGitsshRelay, tLocal}

// isGitssh reports whether the transport runs gitssh (and its master).
func isGitssh(name string) bool {
	return name == tGitssh || name == tGitsshSetup || name == tGitsshRelay
}

func (b *bench) transport(name string) *transport {
	for _, t := range b.transports {
		if t.name == name {
			return t
		}
	}
	panic("no transport " + name)
}

// setup builds gitssh and starts what the selected scenarios need.
func (b *bench) setup(ctx context.Context, scs []*scenario) error {
	var err error
	if b.tmp, err = os.MkdirTemp("", "gitssh-bench."); err != nil {
		return err
	}
	b.logf("working in %s", b.tmp)
	for _, d := range []string{"bin", "home", "work", "logs"} {
		if err := os.MkdirAll(filepath.Join(b.tmp, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(b.tmp, "ctl"), 0o700); err != nil {
		return err
	}
	b.workDir = filepath.Join(b.tmp, "work")
	b.logDir = filepath.Join(b.tmp, "logs")
	if b.devNull, err = os.OpenFile(os.DevNull, os.O_RDWR, 0); err != nil {
		return err
	}
	if missing := testworld.MissingTools("sshd", "ssh", "ssh-keygen", "git"); len(missing) > 0 {
		return fmt.Errorf("missing %s (scripts/test installs them)", strings.Join(missing, ", "))
	}

	local, err := b.buildClients(ctx)
	if err != nil {
		return err
	}
	if err := b.startServers(scs); err != nil {
		return err
	}

	b.baseEnv = benchEnv(b.tmp)
	b.transports = []*transport{
		{name: tSSH, argv: []string{"ssh", "-F", b.cfg}},
		{name: tSSHCM, argv: []string{"ssh", "-F", b.cfg, "-o", "ControlMaster=auto", "-o", "ControlPath=" + b.cmPath(), "-o", "ControlPersist=60"}},
		{name: tGitssh, argv: []string{b.gitssh, "-F", b.cfg}},
		{name: tGitsshSetup, argv: []string{b.gitssh, "-F", b.cfg}, gitConfig: filepath.Join(b.tmp, "gitssh-setup.gitconfig")},
		{name: tGitsshRelay, argv: []string{b.gitssh, "-F", b.cfg}, gitConfig: filepath.Join(b.tmp, "gitssh-setup.gitconfig"), env: []string{"GITSSH_RELAY=1"}},
		{name: tLocal, argv: []string{local}},
	}
	if err := b.writeSetupConfig(ctx, b.transport(tGitsshSetup)); err != nil {
		return err
	}
	return b.checkTransports(ctx)
}

// buildClients builds gitssh into bin/ and writes bin/local/ssh, the
// stand-in ssh that runs the remote command locally; it returns the
// stand-in's path.
func (b *bench) buildClients(ctx context.Context) (string, error) {
	b.logf("building gitssh")
	b.gitssh = filepath.Join(b.tmp, "bin", "gitssh")
	// Built as the README says: static, CGO_ENABLED=0.
	build := exec.CommandContext(ctx, "go", "build", "-o", b.gitssh, "./cmd/gitssh")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/gitssh: %v\n%s", err, out)
	}
	local := filepath.Join(b.tmp, "bin", "local", "ssh")
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return "", err
	}
	// Named ssh so that git treats it as OpenSSH (no -G probe), like ssh.
	const localScript = "#!/bin/sh\n# bench stand-in for ssh: ignores every option and runs the last\n# argument (the remote command) locally.\nfor a do last=$a; done\nexec sh -c \"$last\"\n"
	if err := os.WriteFile(local, []byte(localScript), 0o755); err != nil {
		return "", err
	}
	return local, nil
}

// startServers makes the repositories and starts the servers the
// scenarios need, and writes the client configuration that names them.
func (b *bench) startServers(scs []*scenario) error {
	need := map[string]bool{}
	nrepos := 1
	for _, sc := range scs {
		need[sc.world] = true
		nrepos = max(nrepos, sc.repos(b.sz))
	}
	b.logf("making %d repositories", nrepos)
	b.repos = filepath.Join(b.tmp, "repos")
	if _, err := testworld.MakeRepos(b.repos, nrepos); err != nil {
		return err
	}

	client, err := testworld.NewClientFiles(filepath.Join(b.tmp, "client"))
	if err != nil {
		return err
	}
	// Every scenario counts connections on the MaxSessions 10 server
	// except clone-par-ms1.
	b.logf("starting sshd (MaxSessions 10)")
	if b.ms10, err = testworld.StartSSHD(filepath.Join(b.tmp, "sshd-ms10"), testworld.SSHDOptions{MaxSessions: 10, Detach: true}); err != nil {
		return err
	}
	if err := client.AddServer(aliasMS10, b.ms10); err != nil {
		return err
	}
	if need[aliasMS1] {
		b.logf("starting sshd (MaxSessions 1)")
		if b.ms1, err = testworld.StartSSHD(filepath.Join(b.tmp, "sshd-ms1"), testworld.SSHDOptions{MaxSessions: 1, Detach: true}); err != nil {
			return err
		}
		if err := client.AddServer(aliasMS1, b.ms1); err != nil {
			return err
		}
	}
	var prefix string
	if need[aliasSlow] {
		if b.proxy, err = testworld.StartDelayProxy(b.ms10.Addr(), oneWayDelay); err != nil {
			return err
		}
		prefix = fmt.Sprintf("Host %s\n  HostName 127.0.0.1\n  Port %d\n\n", aliasSlow, b.proxy.Port())
		hostKeys := strings.Join(b.ms10.HostKeyLines(fmt.Sprintf("[127.0.0.1]:%d", b.proxy.Port())), "\n") + "\n"
		f, err := os.OpenFile(client.KnownHosts, os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		_, err = f.WriteString(hostKeys)
		if err := errors.Join(err, f.Close()); err != nil {
			return err
		}
	}
	b.cfg = filepath.Join(b.tmp, "client", "bench_ssh_config")
	if err := os.WriteFile(b.cfg, []byte(prefix+client.ConfigText()), 0o600); err != nil {
		return err
	}
	return nil
}

// checkTransports runs one command over each transport: every transport
// must work before anything is measured.
func (b *bench) checkTransports(ctx context.Context) error {
	for _, t := range b.transports {
		r := b.runCmd(ctx, cmdSpec{argv: append(slices.Clone(t.argv), aliasMS10, "true"), stdout: b.devNull, stderr: b.devNull})
		if r.code != 0 {
			return fmt.Errorf("transport %s does not work: %s %s true: exit %d %v", t.name, t.sshCommand(), aliasMS10, r.code, r.err)
		}
		b.stopMasters()
	}
	return nil
}

func (b *bench) cmPath() string { return filepath.Join(b.tmp, "cm-%C") }

// benchEnv is the environment of every command: the caller's, without
// what would make runs differ (agent, git and gitssh settings), with HOME
// in tmp.
func benchEnv(tmp string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "GIT_"), strings.HasPrefix(k, "GITSSH_"), strings.HasPrefix(k, "SSH_"),
			strings.HasPrefix(k, "XDG_"), strings.HasPrefix(k, "LC_"), k == "HOME", k == "LANG":
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"HOME="+filepath.Join(tmp, "home"),
		"GITSSH_CONTROL_DIR="+filepath.Join(tmp, "ctl"),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@example.com",
		"GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@example.com",
		"LC_ALL=C",
	)
}

// env returns the environment for git through t.
func (b *bench) env(t *transport) []string {
	env := append(slices.Clone(b.baseEnv), t.env...)
	if t.gitConfig != "" {
		return append(env, "GIT_CONFIG_GLOBAL="+t.gitConfig)
	}
	return append(env, "GIT_SSH_COMMAND="+t.sshCommand())
}

// writeSetupConfig makes t's global git config with "gitssh --setup"
// itself, then adds the bench's "-F CFG" to the core.sshCommand it wrote.
func (b *bench) writeSetupConfig(ctx context.Context, t *transport) error {
	env := append(slices.Clone(b.baseEnv), "GIT_CONFIG_GLOBAL="+t.gitConfig, "PATH="+filepath.Dir(b.gitssh)+string(filepath.ListSeparator)+os.Getenv("PATH"))
	for _, argv := range [][]string{
		{b.gitssh, "--setup"},
		{"git", "config", "--global", "core.sshCommand", t.sshCommand()},
	} {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, out)
		}
	}
	return nil
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "bench: "+format+"\n", args...)
}

// cmdSpec is one command to run.
type cmdSpec struct {
	argv   []string
	env    []string // nil: baseEnv
	dir    string
	stdout *os.File
	stderr *os.File
	// pollRSS samples the process's VmHWM while it runs, for
	// cmdResult.maxRSS. getrusage's ru_maxrss cannot be used: Go starts
	// children with vfork semantics (CLONE_VM), and Linux carries the
	// parent's high-water mark across execve, so every child would report
	// at least the bench's own RSS.
	pollRSS bool
}

// cmdResult is how a command ended.
type cmdResult struct {
	dur     time.Duration
	code    int   // exit status; -1 if it could not run, was killed or timed out
	maxRSS  int64 // KiB, the largest VmHWM seen (only with pollRSS)
	maxAnon int64 // KiB, the largest RssAnon seen (only with pollRSS)
	// cpu is user+system time of the command and of the descendants it
	// waited for (git's ssh client; not a master that outlived it).
	cpu time.Duration
	err error
}

// runCmd runs one command in its own process group, killed (with the
// group) after the timeout or when ctx ends. Standard input is /dev/null.
func (b *bench) runCmd(ctx context.Context, s cmdSpec) cmdResult {
	ctx, cancel := context.WithTimeout(ctx, b.opt.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.argv[0], s.argv[1:]...)
	cmd.Env = s.env
	if cmd.Env == nil {
		cmd.Env = b.baseEnv
	}
	cmd.Dir = s.dir
	cmd.Stdin = nil
	cmd.Stdout = s.stdout
	cmd.Stderr = s.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Start()
	var hwm, anon atomic.Int64
	if err == nil {
		if s.pollRSS {
			done := make(chan struct{})
			polled := make(chan struct{})
			go func() {
				defer close(polled)
				pollHWM(cmd.Process.Pid, done, &hwm, &anon)
			}()
			err = cmd.Wait()
			close(done)
			<-polled
		} else {
			err = cmd.Wait()
		}
	}
	r := cmdResult{dur: time.Since(start), code: -1, err: err, maxRSS: hwm.Load(), maxAnon: anon.Load()}
	if ps := cmd.ProcessState; ps != nil {
		r.code = ps.ExitCode()
		r.cpu = ps.UserTime() + ps.SystemTime()
	}
	if ctx.Err() != nil {
		r.code = -1
	}
	return r
}

// pollHWM records in hwm and anon the largest VmHWM and RssAnon of pid
// until done is closed.
func pollHWM(pid int, done <-chan struct{}, hwm, anon *atomic.Int64) {
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		st := procStatus(pid)
		if v := st["VmHWM"]; v > hwm.Load() {
			hwm.Store(v)
		}
		if v := st["RssAnon"]; v > anon.Load() {
			anon.Store(v)
		}
		select {
		case <-done:
			return
		case <-tick.C:
		}
	}
}

// quiet runs a helper command (not measured) and returns its combined
// output.
func (b *bench) quiet(argv []string, env []string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	if env == nil {
		cmd.Env = b.baseEnv
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// masterState is what a transport's master looked like after a run.
type masterState struct {
	pid    int
	hwmKiB int64 // VmHWM: peak resident set size
	dials  int64 // gitssh: connections dialled
	limit  int   // gitssh: learned channel limit (largest over destinations)
	cpu    time.Duration
}

// gitsshStatus asks the gitssh master for its status; pid 0 if none runs.
func (b *bench) gitsshStatus() masterState {
	if b.gitssh == "" {
		return masterState{}
	}
	out, err := b.quiet([]string{b.gitssh, "-O", "status-json"}, nil)
	if err != nil {
		return masterState{}
	}
	var st struct {
		PID   int `json:"pid"`
		Dests []struct {
			Dials int64 `json:"dials"`
			Limit int   `json:"learned_limit"`
		} `json:"destinations"`
	}
	if json.Unmarshal([]byte(out), &st) != nil {
		return masterState{}
	}
	m := masterState{pid: st.PID, hwmKiB: vmHWM(st.PID), cpu: cpuTime(st.PID)}
	for _, d := range st.Dests {
		m.dials += d.Dials
		m.limit = max(m.limit, d.Limit)
	}
	return m
}

var masterPidRE = regexp.MustCompile(`pid=(\d+)`)

// sshCMStatus finds the OpenSSH ControlMaster of alias; pid 0 if none.
func (b *bench) sshCMStatus(alias string) masterState {
	out, err := b.quiet([]string{"ssh", "-F", b.cfg, "-o", "ControlPath=" + b.cmPath(), "-O", "check", alias}, nil)
	if err != nil {
		return masterState{}
	}
	m := masterPidRE.FindStringSubmatch(out)
	if m == nil {
		return masterState{}
	}
	pid, _ := strconv.Atoi(m[1])
	return masterState{pid: pid, hwmKiB: vmHWM(pid), cpu: cpuTime(pid)}
}

// cpuTime returns the user+system time pid (all its threads) has used so
// far, or 0 if it is gone. /proc counts it in clock ticks (usually 10 ms).
func cpuTime(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	return statCPU(string(data))
}

// statCPU returns utime+stime of a /proc/PID/stat line.
func statCPU(s string) time.Duration {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	// After "pid (comm)": state is field 3, utime 14, stime 15.
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(ut+st) * time.Second / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times: 100 on every
// Linux architecture gitssh runs on.
const clockTicks = 100

// vmHWM returns the peak resident set size of pid in KiB, or 0.
func vmHWM(pid int) int64 { return procStatus(pid)["VmHWM"] }

// procStatus returns the "kB" fields of /proc/PID/status (VmHWM, VmRSS,
// RssAnon, ...) in KiB; empty if pid is gone.
func procStatus(pid int) map[string]int64 {
	m := map[string]int64{}
	if pid <= 0 {
		return m
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m
	}
	for l := range strings.Lines(string(data)) {
		k, v, ok := strings.Cut(l, ":")
		f := strings.Fields(v)
		if !ok || len(f) != 2 || f[1] != "kB" {
			continue
		}
		if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
			m[k] = n
		}
	}
	return m
}

// stopMasters stops the gitssh master and every OpenSSH ControlMaster of
// the bench and waits (bounded) until they are gone, so that the next run
// starts cold. gitssh's learned limits file stays.
func (b *bench) stopMasters() {
	if b.tmp == "" || b.cfg == "" {
		return
	}
	if st := b.gitsshStatus(); st.pid != 0 {
		b.quiet([]string{b.gitssh, "-O", "exit"}, nil)
		waitGone(st.pid, 5*time.Second)
	}
	socks, _ := filepath.Glob(filepath.Join(b.tmp, "cm-*"))
	if len(socks) == 0 {
		return
	}
	for _, alias := range []string{aliasMS10, aliasMS1, aliasSlow} {
		if st := b.sshCMStatus(alias); st.pid != 0 {
			b.quiet([]string{"ssh", "-F", b.cfg, "-o", "ControlPath=" + b.cmPath(), "-O", "exit", alias}, nil)
			waitGone(st.pid, 5*time.Second)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if socks, _ := filepath.Glob(filepath.Join(b.tmp, "cm-*")); len(socks) == 0 {
			return
		}
	}
}

// waitGone waits until pid has exited, and kills it (it is a master this
// bench started) if it has not within d.
func waitGone(pid int, d time.Duration) {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if !testworld.Running(pid) {
			return
		}
	}
	syscall.Kill(pid, syscall.SIGKILL)
}

// cleanup stops every process the bench started and removes its
// directory (unless -keep). It is safe to call more than once and after a
// failed setup.
func (b *bench) cleanup() {
	b.stopOnce.Do(func() {
		b.stopMasters()
		if b.proxy != nil {
			b.proxy.Close()
		}
		for _, s := range []*testworld.SSHD{b.ms10, b.ms1} {
			if s != nil {
				if err := s.Stop(); err != nil {
					b.logf("%v", err)
				}
			}
		}
		if b.devNull != nil {
			b.devNull.Close()
		}
		if b.tmp == "" {
			return
		}
		if b.opt.keep {
			b.logf("kept %s", b.tmp)
			return
		}
		if err := os.RemoveAll(b.tmp); err != nil {
			b.logf("remove %s: %v", b.tmp, err)
		}
	})
}
