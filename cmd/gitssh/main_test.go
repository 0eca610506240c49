//go:build unix

package main

// End-to-end tests: testdata/*.txtar scripts run the real gitssh main()
// (installed on $PATH by testscript.Main) against real OpenSSH servers
// built by internal/testworld. STYLE rule 14.
//
// Every script starts with this environment:
//
//	HOME=$WORK/home              with an empty .ssh (0700); nothing touches the real ~/.ssh
//	GIT_SSH_COMMAND=gitssh       GIT_CONFIG_NOSYSTEM=1, a fixed git identity, LC_ALL=C
//	GITSSH_CONTROL_DIR=$WORK/ctl the master's socket directory
//
// Commands on $PATH besides the system's:
//
//	gitssh                  this package's main()
//	tcpcat [-log FILE] HOST PORT
//	                        stdin/stdout to a TCP connection, for ProxyCommand;
//	                        -log appends "connect HOST:PORT" to FILE
//
// Script commands (Params.Cmds):
//
//	world [-name NAME] [-max-sessions N] [-max-startups S] [-host-ca CAKEY] [-extra LINE]... [-repos N]
//	    Start an sshd on 127.0.0.1 in $WORK/world (or $WORK/world/NAME), stopped
//	    at the end of the script, with bare repositories r1.git ... (-repos,
//	    default 2; 3 commits each on main). -host-ca signs its host keys with
//	    the CA private key CAKEY (host certificates for 127.0.0.1, offered by
//	    sshd; $KNOWNHOSTS still gets the plain keys). All servers of a script share one
//	    set of client files in $WORK/world/client. Sets:
//	      PORT, REPOS, SSHD_LOG, ALIAS   for this server, prefixed NAME_ with -name
//	                                     (NAME upper-cased: -name jump gives JUMP_PORT)
//	      SSHCONFIG, KEY, PKEY, PASSPHRASE, BADKEY, KNOWNHOSTS, USER_NAME
//	                                     the shared client files (see testworld.ClientFiles)
//	    and (re)writes $HOME/.ssh/config with SSHCONFIG's text: "Host gitserver"
//	    (or "Host NAME") plus a "Host *" block with User, IdentityFile $KEY,
//	    IdentitiesOnly yes, UserKnownHostsFile $KNOWNHOSTS, StrictHostKeyChecking yes.
//	dropbear [-name NAME] [-idle N] [-repos N]
//	    Start dropbear (Debian's dropbear-bin, a server other than OpenSSH) on
//	    127.0.0.1 in $WORK/dropbear/NAME (NAME defaults to "dropbear"), with
//	    idle timeout -I N seconds if given: dropbear counts neither
//	    keepalive@openssh.com global requests nor their replies as traffic.
//	    Like world it makes bare repositories, trusts the server's host keys
//	    in $KNOWNHOSTS, adds "Host NAME" to $HOME/.ssh/config and sets the
//	    shared client variables, and sets NAME_PORT, NAME_REPOS, NAME_LOG
//	    (NAME upper-cased: DROPBEAR_PORT).
//	tinysshd [-name NAME] [-repos N]
//	    The same for tinysshd (Debian's tinysshd), served by an in-process
//	    inetd: one session per connection, which ends when the session ends.
//	    NAME defaults to "tinysshd"; sets TINYSSHD_PORT, TINYSSHD_REPOS,
//	    TINYSSHD_LOG.
//	server [-name NAME] stop|start|restart
//	    Stop kills sshd and every connection it accepted (a crashed server);
//	    start brings it back on the same port with the same host keys.
//	sshdlog [-name NAME] connections|accepted [<=|>=]N
//	    Assert the number of TCP connections (not counting readiness probes) or
//	    authenticated connections the server has seen (restarts included).
//	agent start [KEYFILE...] | agent stop
//	    Run a real ssh-agent holding KEYFILEs (default $KEY) and set
//	    SSH_AUTH_SOCK; stop kills it and sets SSH_AUTH_SOCK to "".
//	knownhosts [-name NAME] [-wrong] FILE
//	    Write a known_hosts for the server: its real host keys, or with -wrong
//	    one ed25519 key of another machine under [127.0.0.1]:PORT.
//	freeport VAR
//	    Set VAR to a port on 127.0.0.1 on which nothing listens.
//	exitcode N PROGRAM [ARGS...]
//	    Run PROGRAM like exec and require exit status N (stdout and stderr
//	    are kept for the next stdout/stderr commands).
//	waituntil [-timeout D] PROGRAM [ARGS...]
//	    Run PROGRAM like exec every 50ms until it exits 0; fail after D
//	    (default 15s) with its last output. For conditions that become true
//	    asynchronously (a master that has started a command, a file written
//	    by a background command).
//	masterpid VAR
//	    Set VAR to the pid that "gitssh -O status-json" reports: the running
//	    master's (stdout and stderr are kept like exec's).
//	waitgone [-timeout D] PID
//	    Wait until process PID has exited (or is an unreaped zombie); fail
//	    after D (default 15s).
//	[!] running PID
//	    Require process PID to be running (an unreaped zombie is not), or
//	    with ! not to be.
//	haproxy [-name NAME] [-timeout D] [-backend-port N]
//	    Start HAProxy in TCP mode on 127.0.0.1 in front of the world's sshd
//	    (or 127.0.0.1:N), with "timeout client" and "timeout server" D
//	    (default 50s): it closes a connection idle that long. Sets
//	    HAPROXY_PORT and HAPROXY_LOG (prefixed NAME_ with -name) and adds
//	    the server's host keys to $KNOWNHOSTS under [127.0.0.1]:HAPROXY_PORT.
//	blackhole start|on|off [-name NAME] [-backend-port N]
//	    start: an in-process TCP proxy to the world's sshd (or 127.0.0.1:N);
//	    sets BLACKHOLE_PORT (prefixed NAME_) and trusts the host keys there
//	    like haproxy. on: it stops forwarding in both directions without
//	    closing anything (a dead route); the connections open then stay
//	    dead. off: new connections are forwarded again.
//	elapsed start NAME | elapsed [-max D] NAME
//	    Remember the time; log the seconds since then, failing if more than D.
//	burst [-name NAME] N P
//	    N git ls-remotes of r1..r20 (world -repos 20) of the server (or the
//	    one named), P at a time, within 45s; writes "failed" (empty when
//	    all succeeded), stdout.all and stderr.all.
//	hold [-name NAME] N
//	    N sessions at once through gitssh to the server (or the one named),
//	    each held on the server until all N are running there, then
//	    printing "held"; within 45s, with the files burst writes. So N
//	    sessions were open at the same time: for a pool's connection counts
//	    and learned limits, whatever the machine's speed.
//	bgpid VAR
//	    Set VAR to the pid of the most recent background exec (for waitgone,
//	    which bounds a wait that testscript's own wait does not).
//
// At the end of a script its servers and agent are stopped, "gitssh -O exit"
// asks its master to exit, and any process whose command line still
// mentions $WORK is killed and logged ("cleanup: killed leftover process").
//
// TestScriptsRelay runs the scripts in relayScripts again with
// GITSSH_RELAY=1 (condition [relay]): every client relays its stdio.
//
// GITSSH_E2E_REFERENCE=/usr/bin/ssh makes the gitssh command exec that
// program instead, as "gitssh" and with "-F $HOME/.ssh/config" unless -F is
// given (OpenSSH finds ~ through the password database, not $HOME): the
// scripts describe OpenSSH's behaviour, and this checks that they do. Where
// gitssh deliberately differs (OpenSSH's hard-coded "ssh: connect to host",
// its "\r\n" line ends, its tty warning under -G), a line is guarded with
// [reference] or [!reference].

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gitssh/gitssh/internal/testworld"
	"github.com/rogpeppe/go-internal/testscript"
)

const referenceEnv = "GITSSH_E2E_REFERENCE"

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"gitssh": gitsshMain,
		"tcpcat": tcpcatMain,
	})
}

func gitsshMain() {
	if ref := os.Getenv(referenceEnv); ref != "" {
		args := os.Args[1:]
		// OpenSSH finds ~ through the password database, not $HOME.
		cfg := filepath.Join(os.Getenv("HOME"), ".ssh", "config")
		if _, err := os.Stat(cfg); err == nil && !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "-F") }) {
			args = append([]string{"-F", cfg}, args...)
		}
		err := syscall.Exec(ref, append([]string{"gitssh"}, args...), os.Environ())
		fmt.Fprintf(os.Stderr, "gitssh: exec %s=%s: %v\n", referenceEnv, ref, err)
		os.Exit(255)
	}
	main()
}

func tcpcatMain() {
	fs := flag.NewFlagSet("tcpcat", flag.ExitOnError)
	logPath := fs.String("log", "", "append \"connect HOST:PORT\" to this file")
	fs.Parse(os.Args[1:])
	if fs.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: tcpcat [-log FILE] HOST PORT")
		os.Exit(2)
	}
	addr := net.JoinHostPort(strings.Trim(fs.Arg(0), "[]"), fs.Arg(1))
	if err := testworld.TCPCat(addr, os.Stdin, os.Stdout, *logPath); err != nil {
		fmt.Fprintf(os.Stderr, "tcpcat: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func TestScripts(t *testing.T) {
	testscript.Run(t, scriptParams(t, false))
}

// relayScripts run a second time with GITSSH_RELAY=1, so that the relay,
// which Windows uses for every command, runs against the real sshd in CI.
var relayScripts = []string{
	"stream_256mib", "git_clone_fetch_push", "exit_status", "mux_master_killed",
	"mux_maxsessions1", "passphrase_askpass", "relay",
}

func TestScriptsRelay(t *testing.T) {
	if os.Getenv(referenceEnv) != "" {
		t.Skip("the relay is gitssh's own: nothing to compare with OpenSSH")
	}
	p := scriptParams(t, true)
	p.Dir = ""
	for _, name := range relayScripts {
		p.Files = append(p.Files, filepath.Join("testdata", name+".txtar"))
	}
	testscript.Run(t, p)
}

// scriptParams runs the scripts in testdata; with relay, every gitssh
// client relays its stdio through the master instead of passing them.
func scriptParams(t *testing.T, relay bool) testscript.Params {
	tools := []string{"sshd", "ssh-keygen", "ssh-agent", "ssh-add", "git", "haproxy"}
	if os.Getenv(referenceEnv) != "" {
		tools = append(tools, "ssh") // OpenSSH's ProxyJump runs ssh
	}
	testworld.RequireTools(t, tools...)
	return testscript.Params{
		Dir: "testdata",
		Setup: func(env *testscript.Env) error {
			if relay {
				env.Setenv("GITSSH_RELAY", "1")
			}
			return setup(env)
		},
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "reference":
				return os.Getenv(referenceEnv) != "", nil
			case "relay":
				return relay, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"world":      cmdWorld,
			"dropbear":   cmdDropbear,
			"tinysshd":   cmdTinySSHD,
			"server":     cmdServer,
			"sshdlog":    cmdSSHDLog,
			"agent":      cmdAgent,
			"knownhosts": cmdKnownHosts,
			"freeport":   cmdFreePort,
			"exitcode":   cmdExitCode,
			"waituntil":  cmdWaitUntil,
			"masterpid":  cmdMasterPid,
			"waitgone":   cmdWaitGone,
			"running":    cmdRunning,
			"haproxy":    cmdHAProxy,
			"blackhole":  cmdBlackhole,
			"elapsed":    cmdElapsed,
			"bgpid":      cmdBgPid,
			"burst":      burstCmd("ls-remote"),
			"hold":       burstCmd("hold"),
		},
	}
}

// scriptState is what the custom commands of one script share.
type scriptState struct {
	work string

	// mu guards the fields that follow. Commands of one script run one
	// at a time; the lock is for the deferred cleanup.
	mu      sync.Mutex
	client  *testworld.ClientFiles
	servers map[string]*testworld.SSHD // by -name; "" is the default world
	agent   *testworld.Agent
	others  map[string]interface{ Stop() error } // dropbear, tinysshd: by name
}

type stateKey struct{}

func state(ts *testscript.TestScript) *scriptState {
	return ts.Value(stateKey{}).(*scriptState)
}

func setup(env *testscript.Env) error {
	home := filepath.Join(env.WorkDir, "home")
	sshDir := filepath.Join(home, ".ssh")
	if err := os.MkdirAll(sshDir, 0o700); err != nil {
		return err
	}
	// ssh refuses a ~/.ssh/config others can write; the txtar may have
	// created the directory with a looser mode.
	if err := os.Chmod(sshDir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(sshDir, "config"), 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for _, kv := range [][2]string{
		{"HOME", home},
		{"GIT_SSH_COMMAND", "gitssh"},
		{"GIT_CONFIG_NOSYSTEM", "1"},
		{"GIT_AUTHOR_NAME", "gitssh e2e"},
		{"GIT_AUTHOR_EMAIL", "e2e@example.com"},
		{"GIT_COMMITTER_NAME", "gitssh e2e"},
		{"GIT_COMMITTER_EMAIL", "e2e@example.com"},
		{"LC_ALL", "C"},
		{"GITSSH_CONTROL_DIR", filepath.Join(env.WorkDir, "ctl")},
	} {
		env.Setenv(kv[0], kv[1])
	}
	if ref := os.Getenv(referenceEnv); ref != "" {
		env.Setenv(referenceEnv, ref)
	}
	st := &scriptState{work: env.WorkDir, servers: map[string]*testworld.SSHD{}, others: map[string]interface{ Stop() error }{}}
	env.Values[stateKey{}] = st
	// Deferred functions run last first: the servers and the agent stop
	// before the master is asked to exit.
	env.Defer(func() { stopMaster(env) })
	env.Defer(st.stopAll)
	return nil
}

// stopMaster ends what the script's gitssh commands left running: it asks
// the master to exit ("gitssh -O exit" with the script's environment) and
// then kills any process whose command line still mentions $WORK (a master
// that did not exit, a ProxyCommand), logging each one.
func stopMaster(env *testscript.Env) {
	if os.Getenv(referenceEnv) == "" {
		if gitssh, err := exec.LookPath("gitssh"); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			cmd := exec.CommandContext(ctx, gitssh, "-O", "exit")
			cmd.Env = env.Vars
			cmd.Dir = env.WorkDir
			cmd.Run() // no master is fine
			cancel()
		}
	}
	left, err := testworld.KillMentioning(env.WorkDir)
	if err != nil && !errors.Is(err, errors.ErrUnsupported) {
		env.T().Log("cleanup:", err)
	}
	for _, p := range left {
		env.T().Log("cleanup: killed leftover process", p)
	}
}

// stopAll stops every process the script's commands started.
func (st *scriptState) stopAll() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.agent != nil {
		st.agent.Stop()
	}
	for _, s := range st.servers {
		s.Stop()
	}
	for _, s := range st.others {
		s.Stop()
	}
}

type stringsFlag []string

func (s *stringsFlag) String() string     { return strings.Join(*s, "\n") }
func (s *stringsFlag) Set(v string) error { *s = append(*s, v); return nil }

func parseFlags(ts *testscript.TestScript, fs *flag.FlagSet, args []string) []string {
	var out strings.Builder
	fs.SetOutput(&out)
	if err := fs.Parse(args); err != nil {
		ts.Fatalf("%s: %v\n%s", fs.Name(), err, out.String())
	}
	return fs.Args()
}

// envPrefix returns the variable prefix for a world name: "" for the
// default world, "JUMP_" for "jump".
func envPrefix(name string) string {
	if name == "" {
		return ""
	}
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, name) + "_"
}

func cmdWorld(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! world")
	}
	fs := flag.NewFlagSet("world", flag.ContinueOnError)
	name := fs.String("name", "", "name of a further server: its Host alias and variable prefix")
	var opts testworld.SSHDOptions
	fs.IntVar(&opts.MaxSessions, "max-sessions", 0, "sshd MaxSessions")
	fs.StringVar(&opts.MaxStartups, "max-startups", "", "sshd MaxStartups")
	fs.Var((*stringsFlag)(&opts.Extra), "extra", "extra sshd_config line (repeatable)")
	fs.StringVar(&opts.HostCA, "host-ca", "", "CA private key that signs the host keys")
	nrepos := fs.Int("repos", 2, "number of bare repositories")
	if rest := parseFlags(ts, fs, args); len(rest) > 0 {
		ts.Fatalf("usage: world [-name NAME] [-max-sessions N] [-max-startups S] [-host-ca CAKEY] [-extra LINE]... [-repos N]")
	}
	st := state(ts)
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.servers[*name]; ok {
		ts.Fatalf("world %q already started", *name)
	}
	root := filepath.Join(st.work, "world")
	dir, alias := root, testworld.DefaultAlias
	if *name != "" {
		dir, alias = filepath.Join(root, *name), *name
	}
	st.clientFiles(ts)
	repos := filepath.Join(dir, "repos")
	_, err := testworld.MakeRepos(repos, *nrepos)
	ts.Check(err)
	s, err := testworld.StartSSHD(filepath.Join(dir, "sshd"), opts)
	ts.Check(err)
	st.servers[*name] = s
	ts.Check(st.client.AddServer(alias, s))

	st.publishClient(ts)
	p := envPrefix(*name)
	ts.Setenv(p+"PORT", strconv.Itoa(s.Port()))
	ts.Setenv(p+"REPOS", repos)
	ts.Setenv(p+"SSHD_LOG", s.LogPath())
	ts.Setenv(p+"ALIAS", alias)
	ts.Logf("world %q: sshd pid %d on 127.0.0.1:%d, Host %s", *name, s.Pid(), s.Port(), alias)
}

// clientFiles makes the script's shared client files if they are not there
// yet. st.mu must be held.
func (st *scriptState) clientFiles(ts *testscript.TestScript) *testworld.ClientFiles {
	if st.client == nil {
		c, err := testworld.NewClientFiles(filepath.Join(st.work, "world", "client"))
		ts.Check(err)
		st.client = c
	}
	return st.client
}

// publishClient writes $HOME/.ssh/config from the client files and sets
// the shared client variables. st.mu must be held.
func (st *scriptState) publishClient(ts *testscript.TestScript) *testworld.ClientFiles {
	c := st.client
	ts.Check(os.WriteFile(filepath.Join(ts.Getenv("HOME"), ".ssh", "config"), []byte(c.ConfigText()), 0o600))
	ts.Setenv("SSHCONFIG", c.SSHConfig)
	ts.Setenv("KEY", c.Key)
	ts.Setenv("PKEY", c.PassphraseKey)
	ts.Setenv("PASSPHRASE", testworld.Passphrase)
	ts.Setenv("BADKEY", c.BadKey)
	ts.Setenv("KNOWNHOSTS", c.KnownHosts)
	ts.Setenv("USER_NAME", c.User)
	return c
}

// startOther starts a server that is not OpenSSH's (start makes it in dir)
// under name, with bare repositories, and publishes it like world.
func startOther(ts *testscript.TestScript, name string, nrepos int, start func(dir string) (testworld.Server, string, error)) {
	st := state(ts)
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.others[name]; ok {
		ts.Fatalf("server %q already started", name)
	}
	st.clientFiles(ts)
	dir := filepath.Join(st.work, name)
	repos := filepath.Join(dir, "repos")
	_, err := testworld.MakeRepos(repos, nrepos)
	ts.Check(err)
	s, log, err := start(filepath.Join(dir, "server"))
	ts.Check(err)
	st.others[name] = s.(interface{ Stop() error })
	ts.Check(st.client.AddServer(name, s))
	st.publishClient(ts)
	p := envPrefix(name)
	ts.Setenv(p+"PORT", strconv.Itoa(s.Port()))
	ts.Setenv(p+"REPOS", repos)
	ts.Setenv(p+"LOG", log)
	ts.Logf("%s: on 127.0.0.1:%d, Host %s, log %s", name, s.Port(), name, log)
}

func cmdDropbear(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("dropbear", flag.ContinueOnError)
	name := fs.String("name", "dropbear", "Host alias and variable prefix")
	idle := fs.Int("idle", 0, "dropbear -I: idle timeout in seconds")
	nrepos := fs.Int("repos", 2, "number of bare repositories")
	if rest := parseFlags(ts, fs, args); neg || len(rest) > 0 {
		ts.Fatalf("usage: dropbear [-name NAME] [-idle N] [-repos N]")
	}
	startOther(ts, *name, *nrepos, func(dir string) (testworld.Server, string, error) {
		b, err := testworld.StartDropbear(dir, testworld.DropbearOptions{IdleTimeout: time.Duration(*idle) * time.Second})
		if err != nil {
			return nil, "", err
		}
		return b, b.LogPath(), nil
	})
}

func cmdTinySSHD(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("tinysshd", flag.ContinueOnError)
	name := fs.String("name", "tinysshd", "Host alias and variable prefix")
	nrepos := fs.Int("repos", 2, "number of bare repositories")
	if rest := parseFlags(ts, fs, args); neg || len(rest) > 0 {
		ts.Fatalf("usage: tinysshd [-name NAME] [-repos N]")
	}
	startOther(ts, *name, *nrepos, func(dir string) (testworld.Server, string, error) {
		s, err := testworld.StartTinySSHD(dir)
		if err != nil {
			return nil, "", err
		}
		return s, s.LogPath(), nil
	})
}

// server returns the named server or fails the script.
func server(ts *testscript.TestScript, name string) *testworld.SSHD {
	st := state(ts)
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.servers[name]
	if s == nil {
		ts.Fatalf("no world %q: run world first", name)
	}
	return s
}

func cmdServer(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	name := fs.String("name", "", "world name")
	rest := parseFlags(ts, fs, args)
	if neg || len(rest) != 1 {
		ts.Fatalf("usage: server [-name NAME] stop|start|restart")
	}
	s := server(ts, *name)
	switch rest[0] {
	case "stop":
		ts.Check(s.Stop())
	case "start":
		ts.Check(s.Start())
	case "restart":
		ts.Check(s.Restart())
	default:
		ts.Fatalf("usage: server [-name NAME] stop|start|restart")
	}
}

func cmdSSHDLog(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "usage: sshdlog [-name NAME] connections|accepted [<=|>=]N"
	fs := flag.NewFlagSet("sshdlog", flag.ContinueOnError)
	name := fs.String("name", "", "world name")
	rest := parseFlags(ts, fs, args)
	if neg || len(rest) != 2 {
		ts.Fatalf("%s", usage)
	}
	s := server(ts, *name)
	var got int
	var err error
	switch rest[0] {
	case "connections":
		got, err = s.Connections()
	case "accepted":
		got, err = s.AcceptedConnections()
	default:
		ts.Fatalf("%s", usage)
	}
	ts.Check(err)
	op, num := "==", rest[1]
	for _, o := range []string{"<=", ">="} {
		if n, ok := strings.CutPrefix(num, o); ok {
			op, num = o, n
		}
	}
	want, err := strconv.Atoi(num)
	if err != nil {
		ts.Fatalf("%s", usage)
	}
	ok := map[string]bool{"==": got == want, "<=": got <= want, ">=": got >= want}[op]
	if !ok {
		log, _ := os.ReadFile(s.LogPath())
		ts.Logf("[%s]\n%s", s.LogPath(), log)
		ts.Fatalf("sshd %s = %d, want %s %d", rest[0], got, op, want)
	}
	ts.Logf("sshd %s = %d", rest[0], got)
}

func cmdAgent(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: agent start [KEYFILE...] | agent stop")
	}
	st := state(ts)
	st.mu.Lock()
	defer st.mu.Unlock()
	switch args[0] {
	case "start":
		if st.agent != nil {
			ts.Fatalf("agent already started")
		}
		keys := args[1:]
		if len(keys) == 0 {
			if st.client == nil {
				ts.Fatalf("agent start: no key given and no world started")
			}
			keys = []string{st.client.Key}
		}
		for i, k := range keys {
			keys[i] = ts.MkAbs(k)
		}
		// A short directory: socket paths are limited to ~100 bytes
		// and $WORK can be long (macOS TMPDIR).
		dir, err := os.MkdirTemp("", "gitssh-agent")
		ts.Check(err)
		ts.Defer(func() { os.RemoveAll(dir) })
		a, err := testworld.StartAgent(filepath.Join(dir, "sock"), keys...)
		ts.Check(err)
		st.agent = a
		ts.Setenv("SSH_AUTH_SOCK", a.Socket)
	case "stop":
		if st.agent == nil {
			ts.Fatalf("agent not started")
		}
		ts.Check(st.agent.Stop())
		st.agent = nil
		ts.Setenv("SSH_AUTH_SOCK", "")
	default:
		ts.Fatalf("usage: agent start [KEYFILE...] | agent stop")
	}
}

func cmdKnownHosts(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("knownhosts", flag.ContinueOnError)
	name := fs.String("name", "", "world name")
	wrong := fs.Bool("wrong", false, "write another machine's key")
	rest := parseFlags(ts, fs, args)
	if neg || len(rest) != 1 {
		ts.Fatalf("usage: knownhosts [-name NAME] [-wrong] FILE")
	}
	s := server(ts, *name)
	lines := s.HostKeyLines("")
	if *wrong {
		st := state(ts)
		pub, err := os.ReadFile(st.client.BadKey + ".pub")
		ts.Check(err)
		f := strings.Fields(string(pub))
		lines = []string{fmt.Sprintf("[127.0.0.1]:%d %s %s", s.Port(), f[0], f[1])}
	}
	ts.Check(os.WriteFile(ts.MkAbs(rest[0]), []byte(strings.Join(lines, "\n")+"\n"), 0o600))
}

func cmdFreePort(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: freeport VAR")
	}
	port, err := testworld.FreePort()
	ts.Check(err)
	ts.Setenv(args[0], strconv.Itoa(port))
}

func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N PROGRAM [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("usage: exitcode N PROGRAM [ARGS...]")
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exitcode: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

func cmdWaitUntil(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "usage: waituntil [-timeout D] PROGRAM [ARGS...]"
	fs := flag.NewFlagSet("waituntil", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 15*time.Second, "give up after this long")
	rest := parseFlags(ts, fs, args)
	if neg || len(rest) == 0 {
		ts.Fatalf("%s", usage)
	}
	start := time.Now()
	for {
		err := ts.Exec(rest[0], rest[1:]...)
		if err == nil {
			ts.Logf("waituntil: true after %v", time.Since(start).Round(time.Millisecond))
			return
		}
		if _, ok := errors.AsType[*exec.ExitError](err); !ok {
			ts.Fatalf("waituntil: %v", err)
		}
		if time.Since(start) > *timeout {
			ts.Logf("[stdout]\n%s[stderr]\n%s", ts.ReadFile("stdout"), ts.ReadFile("stderr"))
			ts.Fatalf("waituntil: %s still fails after %v: %v", strings.Join(rest, " "), *timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func cmdMasterPid(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: masterpid VAR")
	}
	if err := ts.Exec("gitssh", "-O", "status-json"); err != nil {
		ts.Fatalf("masterpid: gitssh -O status-json: %v\n%s", err, ts.ReadFile("stderr"))
	}
	var st struct {
		PID int `json:"pid"`
	}
	if err := json.Unmarshal([]byte(ts.ReadFile("stdout")), &st); err != nil || st.PID <= 0 {
		ts.Fatalf("masterpid: no pid in status-json (%v):\n%s", err, ts.ReadFile("stdout"))
	}
	ts.Setenv(args[0], strconv.Itoa(st.PID))
	ts.Logf("master pid %d", st.PID)
}

func cmdWaitGone(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("waitgone", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 15*time.Second, "give up after this long")
	rest := parseFlags(ts, fs, args)
	if neg || len(rest) != 1 {
		ts.Fatalf("usage: waitgone [-timeout D] PID")
	}
	pid, err := strconv.Atoi(rest[0])
	if err != nil || pid <= 1 {
		ts.Fatalf("waitgone: bad pid %q", rest[0])
	}
	start := time.Now()
	for testworld.Running(pid) {
		if time.Since(start) > *timeout {
			ts.Fatalf("waitgone: process %d still running after %v", pid, *timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ts.Logf("process %d gone after %v", pid, time.Since(start).Round(time.Millisecond))
}

func cmdRunning(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: [!] running PID")
	}
	pid, err := strconv.Atoi(args[0])
	if err != nil || pid <= 1 {
		ts.Fatalf("running: bad pid %q", args[0])
	}
	if got := testworld.Running(pid); got == neg {
		ts.Fatalf("process %d running: %v, want %v", pid, got, !neg)
	}
}

// netState holds a script's proxies: HAProxy and blackhole instances by
// -name ("" is the unnamed one). Kept beside scriptState, keyed by it, so
// that the proxy commands need no change to the shared script state.
type netState struct {
	// mu guards the fields that follow.
	mu         sync.Mutex
	haproxies  map[string]*testworld.HAProxy
	blackholes map[string]*testworld.Blackhole
}

// netStates maps a script's *scriptState to its *netState; each entry is
// removed by the script's deferred cleanup.
var netStates sync.Map

func proxies(ts *testscript.TestScript) *netState {
	st := state(ts)
	if v, ok := netStates.Load(st); ok {
		return v.(*netState)
	}
	ns := &netState{haproxies: map[string]*testworld.HAProxy{}, blackholes: map[string]*testworld.Blackhole{}}
	netStates.Store(st, ns)
	ts.Defer(func() {
		netStates.Delete(st)
		ns.mu.Lock()
		defer ns.mu.Unlock()
		for _, h := range ns.haproxies {
			h.Stop()
		}
		for _, b := range ns.blackholes {
			b.Close()
		}
	})
	return ns
}

// proxyBackend returns the address a proxy forwards to: 127.0.0.1:PORT
// with -backend-port, else the default world's sshd. It also returns
// that sshd when the backend is one of the script's servers.
func proxyBackend(ts *testscript.TestScript, port int) (string, *testworld.SSHD) {
	st := state(ts)
	st.mu.Lock()
	defer st.mu.Unlock()
	if port == 0 {
		s := st.servers[""]
		if s == nil {
			ts.Fatalf("no world: run world first or give -backend-port")
		}
		return s.Addr(), s
	}
	for _, s := range st.servers {
		if s.Port() == port {
			return s.Addr(), s
		}
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
}

// trustProxy adds the host keys of s, the server behind a proxy, to
// $KNOWNHOSTS under "[127.0.0.1]:PORT", the proxy's address: what a user
// whose server is reached through a proxy has in known_hosts.
func trustProxy(ts *testscript.TestScript, s *testworld.SSHD, port int) {
	if s == nil {
		return
	}
	st := state(ts)
	st.mu.Lock()
	c := st.client
	st.mu.Unlock()
	if c == nil {
		return
	}
	lines := s.HostKeyLines(fmt.Sprintf("[127.0.0.1]:%d", port))
	f, err := os.OpenFile(c.KnownHosts, os.O_WRONLY|os.O_APPEND, 0o600)
	ts.Check(err)
	_, err = f.WriteString(strings.Join(lines, "\n") + "\n")
	ts.Check(errors.Join(err, f.Close()))
}

func cmdHAProxy(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "usage: haproxy [-name NAME] [-timeout D] [-backend-port N]"
	fs := flag.NewFlagSet("haproxy", flag.ContinueOnError)
	name := fs.String("name", "", "name of this proxy: variable prefix")
	timeout := fs.Duration("timeout", 0, "timeout client and timeout server (default: testworld's)")
	backendPort := fs.Int("backend-port", 0, "forward to 127.0.0.1:N instead of the world's sshd")
	if rest := parseFlags(ts, fs, args); neg || len(rest) > 0 {
		ts.Fatalf("%s", usage)
	}
	if _, err := testworld.LookTool("haproxy"); err != nil {
		ts.Fatalf("haproxy not found (%v): install it (scripts/deps does)", err)
	}
	backend, s := proxyBackend(ts, *backendPort)
	ns := proxies(ts)
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if _, ok := ns.haproxies[*name]; ok {
		ts.Fatalf("haproxy %q already started", *name)
	}
	dir := filepath.Join(state(ts).work, "haproxy")
	if *name != "" {
		dir = filepath.Join(dir, *name)
	}
	h, err := testworld.StartHAProxy(dir, testworld.HAProxyOptions{
		Backend:       backend,
		TimeoutClient: *timeout,
		TimeoutServer: *timeout,
	})
	ts.Check(err)
	ns.haproxies[*name] = h
	trustProxy(ts, s, h.Port())
	p := envPrefix(*name)
	ts.Setenv(p+"HAPROXY_PORT", strconv.Itoa(h.Port()))
	ts.Setenv(p+"HAPROXY_LOG", h.LogPath())
	ts.Logf("haproxy %q: pid %d on 127.0.0.1:%d -> %s, config %s", *name, h.Pid(), h.Port(), backend, h.ConfigPath())
}

func cmdBlackhole(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "usage: blackhole start|on|off [-name NAME] [-backend-port N]"
	if neg || len(args) == 0 {
		ts.Fatalf("%s", usage)
	}
	verb := args[0]
	fs := flag.NewFlagSet("blackhole", flag.ContinueOnError)
	name := fs.String("name", "", "name of this proxy: variable prefix")
	backendPort := fs.Int("backend-port", 0, "forward to 127.0.0.1:N instead of the world's sshd (start only)")
	if rest := parseFlags(ts, fs, args[1:]); len(rest) > 0 {
		ts.Fatalf("%s", usage)
	}
	if verb == "start" {
		backend, s := proxyBackend(ts, *backendPort)
		ns := proxies(ts)
		ns.mu.Lock()
		defer ns.mu.Unlock()
		if _, ok := ns.blackholes[*name]; ok {
			ts.Fatalf("blackhole %q already started", *name)
		}
		b, err := testworld.StartBlackhole(backend)
		ts.Check(err)
		ns.blackholes[*name] = b
		trustProxy(ts, s, b.Port())
		ts.Setenv(envPrefix(*name)+"BLACKHOLE_PORT", strconv.Itoa(b.Port()))
		ts.Logf("blackhole %q: 127.0.0.1:%d -> %s", *name, b.Port(), backend)
		return
	}
	if *backendPort != 0 {
		ts.Fatalf("%s", usage)
	}
	ns := proxies(ts)
	ns.mu.Lock()
	b := ns.blackholes[*name]
	ns.mu.Unlock()
	if b == nil {
		ts.Fatalf("no blackhole %q: run blackhole start first", *name)
	}
	switch verb {
	case "on":
		b.SetBlackhole(true)
	case "off":
		b.SetBlackhole(false)
	default:
		ts.Fatalf("%s", usage)
	}
	ts.Logf("blackhole %q %s at %s", *name, verb, time.Now().Format("15:04:05.000"))
}

// elapsedVar is the variable that "elapsed start NAME" sets.
func elapsedVar(name string) string { return "ELAPSED_START_" + envPrefix(name) }

func cmdElapsed(ts *testscript.TestScript, neg bool, args []string) {
	const usage = "usage: elapsed start NAME | elapsed [-max D] NAME"
	if neg || len(args) == 0 {
		ts.Fatalf("%s", usage)
	}
	if args[0] == "start" {
		if len(args) != 2 {
			ts.Fatalf("%s", usage)
		}
		ts.Setenv(elapsedVar(args[1]), strconv.FormatInt(time.Now().UnixNano(), 10))
		return
	}
	fs := flag.NewFlagSet("elapsed", flag.ContinueOnError)
	maxd := fs.Duration("max", 0, "fail if more than this has passed (0: no limit)")
	rest := parseFlags(ts, fs, args)
	if len(rest) != 1 {
		ts.Fatalf("%s", usage)
	}
	start, err := strconv.ParseInt(ts.Getenv(elapsedVar(rest[0])), 10, 64)
	if err != nil {
		ts.Fatalf("elapsed: no \"elapsed start %s\" before", rest[0])
	}
	d := time.Since(time.Unix(0, start))
	ts.Logf("elapsed %s: %.1fs", rest[0], d.Seconds())
	if *maxd > 0 && d > *maxd {
		ts.Fatalf("elapsed %s: %v, more than %v", rest[0], d.Round(time.Millisecond), *maxd)
	}
}

func cmdBgPid(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: bgpid VAR")
	}
	bg := ts.BackgroundCmds()
	if len(bg) == 0 || bg[len(bg)-1].Process == nil {
		ts.Fatalf("bgpid: no background command running")
	}
	ts.Setenv(args[0], strconv.Itoa(bg[len(bg)-1].Process.Pid))
}

// burstCmd returns the script command "burst [-name NAME] [-clone]
// [-repos R] N P" (mode ls-remote: N git ls-remotes of r1..rR, P at a
// time; with -clone, N git clones of them) or "hold [-name NAME] N" (mode
// hold: N sessions at once through gitssh, each waiting on the server
// until all N have started there, then printing "held"), to the world's
// server or the one named, within 60 seconds. The file "failed" says how
// many failed or had not finished by then, with a few examples; the
// commands' stdout and stderr are gathered in stdout.all and stderr.all.
func burstCmd(mode string) func(ts *testscript.TestScript, neg bool, args []string) {
	cmd, usage, nargs := "burst", "usage: burst [-name NAME] [-clone] [-repos R] N P", 2
	if mode == "hold" {
		cmd, usage, nargs = "hold", "usage: hold [-name NAME] N", 1
	}
	return func(ts *testscript.TestScript, neg bool, args []string) {
		fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
		name := fs.String("name", "", "the server, as named by world -name")
		clone := fs.Bool("clone", false, "git clone instead of git ls-remote")
		repos := fs.Int("repos", 20, "the repositories r1..rR the commands take in turn")
		rest := parseFlags(ts, fs, args)
		if neg || len(rest) != nargs || *repos < 1 {
			ts.Fatalf("%s", usage)
		}
		n, p := rest[0], rest[len(rest)-1] // hold: all N at once
		host := testworld.DefaultAlias
		if *name != "" {
			host = *name
		}
		m := mode
		if *clone && mode != "hold" {
			m = "clone"
		}
		script := ts.MkAbs(".burst.sh")
		if err := os.WriteFile(script, []byte(burstScript), 0o644); err != nil {
			ts.Fatalf("%s: %v", cmd, err)
		}
		if err := ts.Exec("sh", script, m, n, p, host, ts.Getenv(envPrefix(*name)+"REPOS"), strconv.Itoa(*repos)); err != nil {
			ts.Fatalf("%s: %v", cmd, err)
		}
	}
}

// burstScript runs MODE N P HOST REPOS R: N commands, P at a time, within
// 60 seconds. MODE ls-remote runs "git ls-remote" of r1..rR, MODE clone
// "git clone" of them into clones/; MODE hold runs gitssh with a remote
// command that waits until N remote commands have made their file in
// .hold (N must be P), then prints "held".
const burstScript = `mode=$1 n=$2 p=$3 host=$4 repos=$5 r=$6
rm -rf out clones .hold && mkdir out clones .hold && : >failed
hold=$PWD/.hold
# timeout ends the whole group (xargs, git, the gitssh clients), not the
# master, which runs in its own session.
seq "$n" | timeout -k 5 60 xargs -P "$p" -I{} sh -c '
	repo="$3/r$(( $1 % $7 + 1 )).git"
	case "$4" in
	hold) gitssh "$2" "touch '\''$5/$1'\'' && while [ \$(ls '\''$5'\'' | wc -l) -lt $6 ]; do sleep 0.05; done && echo held" ;;
	clone) git clone -q "$2:$repo" clones/$1 ;;
	*) git ls-remote "$2:$repo" refs/heads/main ;;
	esac >out/$1.out 2>out/$1.err
	echo $? >out/$1.rc' sh {} "$host" "$repos" "$mode" "$hold" "$n" "$r"
bad=0
for i in $(seq "$n"); do
	rc=$(cat out/$i.rc 2>/dev/null) || rc="none, still running after 60s"
	[ "$rc" = 0 ] && continue
	bad=$((bad + 1))
	what=$mode
	[ "$mode" = hold ] || what="$mode r$(( i % r + 1 )).git"
	[ $bad -le 5 ] && { echo "command $i ($what): exit status $rc"; cat out/$i.err; } >>failed.list
done
[ $bad = 0 ] || { echo "$bad of $n commands failed or hung, for example:"; cat failed.list; } >failed
cat out/*.out >stdout.all
cat out/*.err >stderr.all
`
