package config

import "time"

// gitssh's deliberate departures from OpenSSH's defaults.
const (
	// DefaultServerAliveInterval is used when ServerAliveInterval is not
	// set. OpenSSH's default is 0 (no keepalives); gitssh keeps alive by
	// default because git's long silent phases (the server computing a
	// pack, pre-receive hooks, the client compressing a first push) are
	// exactly when server, proxy and NAT idle timeouts cut the connection.
	// "ServerAliveInterval 0" turns keepalives off.
	//
	// The interval is short, below even aggressive proxy timeouts (HAProxy
	// set to 5s): a keepalive is only sent after that much silence from the
	// server, costs one small packet each way, and is what keeps both
	// directions of a proxied connection busy.
	DefaultServerAliveInterval = 3 * time.Second

	// DefaultServerAliveCountMax is used when ServerAliveCountMax is not
	// set. OpenSSH's default is 3; with gitssh's short interval that would
	// give up a connection, and the push on it, after 12s of network
	// trouble, so gitssh waits for 10 unanswered keepalives (about 30s) by
	// default. A dead connection is still found far sooner than TCP would.
	DefaultServerAliveCountMax = 10

	// DefaultControlMaster is used when ControlMaster is not set. OpenSSH's
	// default is "no"; gitssh multiplexes by default through its own
	// master, which is the point of gitssh. "ControlMaster no" selects
	// direct mode (no master).
	DefaultControlMaster = "auto"

	// DefaultControlPersist is how long gitssh's master keeps an idle
	// connection when ControlPersist is not set or is "no". In OpenSSH,
	// "no" (the default) ends the master with its first client; gitssh's
	// master is shared by every git command and must outlive each of them,
	// so "no" means this default rather than "not at all" (use
	// "ControlMaster no" for no master). "yes" (or 0) means until told to
	// exit.
	DefaultControlPersist = 5 * time.Minute
)

// Request is what one invocation asks for: the parsed command line, before any
// configuration file is read. The zero value of each field means "not given".
type Request struct {
	// Destination is "[user@]host" or "ssh://[user@]host[:port]", as given.
	Destination string
	// User is the -l flag.
	User string
	// Port is the -p flag, unparsed; Resolve validates it.
	Port string
	// ConfigFile is the -F flag: it replaces the user's and the system's files
	// (as in OpenSSH, "none" means no file at all).
	ConfigFile string
	// Identities are the -i flags, in order.
	Identities []string
	// Options are the -o flags, in order, each "Key=Value" or "Key Value".
	Options []string
	// AddressFamily is "inet" for -4, "inet6" for -6.
	AddressFamily string
	// Verbose counts -v flags; Quiet is -q.
	Verbose int
	Quiet   bool
}

// Env is what Resolve needs to know about the local side. Package config reads
// no environment itself: the command fills this in.
type Env struct {
	Home      string // the local user's home directory, for ~ and %d
	LocalUser string // the local user name, for %u and the default User
	LocalHost string // the local host name, for %l and %L
	UID       int    // the local uid, for %i

	// WorkDir is the client's working directory. Relative paths in a
	// Destination (identity, certificate and known_hosts files, the agent
	// socket) are made absolute against it, as ssh, running in that
	// directory, would open them; a master in another directory then
	// opens the same files. If empty, relative paths stay relative.
	WorkDir string

	// UserConfig and SystemConfig are the default configuration files. If
	// empty, Home/.ssh/config and /etc/ssh/ssh_config are used.
	UserConfig   string
	SystemConfig string

	// Getenv looks up environment variables for ${VAR} expansion. If nil,
	// every variable is empty.
	Getenv func(string) string
}

// Destination is the resolved configuration for one server. It is a value:
// Resolve returns a fresh one and nothing modifies it afterwards.
//
// Its JSON form, given by the field tags, is how a destination travels to
// gitssh's master (the control protocol, mux/PROTOCOL.md): durations are
// nanoseconds, Notes stay with the client, and a change a master of the
// same protocol version would misread bumps that version.
type Destination struct {
	Alias    string `json:"alias,omitempty"`     // the host as the user typed it (%n), after user@ is removed
	HostName string `json:"host_name,omitempty"` // the host to connect to (%h)
	Port     int    `json:"port"`                // (%p)
	User     string `json:"user,omitempty"`      // the remote user (%r)

	// Every path below is expanded ("~", tokens, ${VAR}) and made absolute
	// against Env.WorkDir, in that order, as ssh opens them.

	IdentityFiles []string `json:"identity_files,omitempty"` // expanded paths, in order
	// DefaultIdentityFiles is set when IdentityFiles is OpenSSH's default
	// list (no IdentityFile nor -i given): files that do not exist are
	// skipped silently. A named file that does not exist is an error.
	DefaultIdentityFiles bool     `json:"default_identity_files,omitempty"`
	IdentitiesOnly       bool     `json:"identities_only,omitempty"`
	IdentityAgent        string   `json:"identity_agent,omitempty"` // "" means SSH_AUTH_SOCK; "none" disables the agent; see AgentSocket
	CertificateFiles     []string `json:"certificate_files,omitempty"`

	// Jumps are the ProxyJump hosts, first hop first, each resolved with
	// the same files. Empty when ProxyJump is unset or "none". As with
	// OpenSSH, Jumps[0] may have Jumps or a ProxyCommand of its own (from
	// its own configuration); each later hop has neither: it is reached
	// through the hop before it.
	Jumps []Destination `json:"jumps,omitempty"`
	// ProxyCommand is the expanded command ("" when unset or "none").
	ProxyCommand string `json:"proxy_command,omitempty"`

	// UserKnownHostsFiles and GlobalKnownHostsFiles are expanded paths;
	// empty when set to "none".
	UserKnownHostsFiles   []string `json:"user_known_hosts_files,omitempty"`
	GlobalKnownHostsFiles []string `json:"global_known_hosts_files,omitempty"`
	StrictHostKeyChecking string   `json:"strict_host_key_checking,omitempty"` // "yes", "no", "accept-new" or "ask"
	HostKeyAlias          string   `json:"host_key_alias,omitempty"`           // lowercased
	// HostKeyAlgorithms is empty for the client's defaults. As in
	// ssh_config(5), a first element starting with '+', '-' or '^' appends
	// to, removes from or puts first in the defaults.
	HostKeyAlgorithms []string `json:"host_key_algorithms,omitempty"`
	HashKnownHosts    bool     `json:"hash_known_hosts,omitempty"`

	ConnectTimeout time.Duration `json:"connect_timeout,omitempty"` // 0: the operating system's
	AddressFamily  string        `json:"address_family,omitempty"`  // "any", "inet" or "inet6"

	ServerAliveInterval time.Duration `json:"server_alive_interval,omitempty"` // 0 disables keepalives
	ServerAliveCountMax int           `json:"server_alive_count_max,omitempty"`
	TCPKeepAlive        bool          `json:"tcp_keep_alive,omitempty"`

	BatchMode                    bool `json:"batch_mode,omitempty"`
	PasswordAuthentication       bool `json:"password_authentication,omitempty"`
	KbdInteractiveAuthentication bool `json:"kbd_interactive_authentication,omitempty"`
	PubkeyAuthentication         bool `json:"pubkey_authentication,omitempty"`
	NumberOfPasswordPrompts      int  `json:"number_of_password_prompts,omitempty"`

	SendEnv []string `json:"send_env,omitempty"` // variable name patterns
	SetEnv  []string `json:"set_env,omitempty"`  // "NAME=value"

	ControlMaster  string        `json:"control_master,omitempty"`  // "yes", "no", "auto", "ask" or "autoask"; see DefaultControlMaster
	ControlPersist time.Duration `json:"control_persist,omitempty"` // how long an idle master lives; 0: until told to exit
	// ControlPath is kept as given, unexpanded ("" for unset or "none"):
	// gitssh uses its own control socket, and git-lfs passes
	// -oControlPath=... which must be accepted.
	ControlPath string `json:"control_path,omitempty"`

	LogLevel   string `json:"log_level,omitempty"` // "QUIET", "ERROR", "INFO", "VERBOSE", "DEBUG1".. "DEBUG3"
	RequestTTY string `json:"request_tty,omitempty"`

	// Notes lists, for -v, what was skipped or not implemented: unparsable
	// configuration lines, Match criteria that could not be evaluated,
	// options gitssh reads but does not act on.
	Notes []string `json:"-"`

	// settings keeps, for WriteG, the options gitssh does not act on and
	// the raw form of some it does (IdentityFile, ProxyCommand, ...).
	settings []setting
}

type setting struct {
	key    string // lowercase
	values []string
}
