package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kevinburke/ssh_config"
)

// This file is the keyword table: every keyword OpenSSH's ssh accepts, how
// its value is parsed and checked, and how repeated values combine (first
// value wins, except for the keywords that accumulate).

// kind is how a keyword's value is parsed and stored.
type kind int

const (
	kindString         kind = iota // one word; first value wins
	kindFlag                       // yes/no/true/false
	kindChoice                     // one word out of choices
	kindInt                        // a non-negative integer
	kindTime                       // an OpenSSH time, or "none"
	kindPort                       // 1..65535
	kindAgent                      // a path that may use ${VAR}, checked when read
	kindForwardAgent               // a flag or an agent path
	kindFiles                      // several words, or "none" alone; first line wins
	kindWords                      // any words; first line wins (options gitssh only reports)
	kindCommand                    // the rest of the line, unsplit (ProxyCommand)
	kindAppend                     // one word per line, accumulated without duplicates
	kindForward                    // LocalForward, RemoteForward, DynamicForward: accumulated
	kindSendEnv                    // patterns accumulated; "-pattern" removes
	kindSetEnv                     // NAME=value pairs; the first line wins as a whole
	kindProxyJump                  // "none" or a list of hops; interacts with ProxyCommand
	kindControlPersist             // yes/no or a time
	kindLogLevel                   // QUIET .. DEBUG3
	kindHost                       // block structure
	kindMatch
	kindInclude
	kindRefuse      // RefuseConnection: an error when it applies
	kindIgnored     // silently ignored (Protocol)
	kindDeprecated  // accepted, reported
	kindUnsupported // accepted, reported (OpenSSH built without it)
)

// keyword describes one configuration keyword.
type keyword struct {
	id      string            // lowercase canonical name: the key in options and in ssh -G output
	name    string            // as ssh_config(5) spells it, for notes
	kind    kind              //
	choices map[string]string // kindChoice: accepted word (lowercase) → stored value
	// used is set for the keywords gitssh acts on. The others are parsed
	// and kept for ssh -G, and reported in Notes when set to a value other
	// than def.
	used bool
	def  string // unused keywords: OpenSSH's default; "" means ssh_config.Default
	why  string // unused keywords: why gitssh ignores it, if not simply "not implemented"
}

var (
	flagChoices = map[string]string{"yes": "yes", "true": "yes", "no": "no", "false": "no"}
	// "on" is a gitssh extension: OpenSSH rejects it.
	strictChoices = map[string]string{"yes": "yes", "true": "yes", "on": "yes", "no": "no", "false": "no", "off": "no", "ask": "ask", "accept-new": "accept-new"}
	familyChoices = map[string]string{"any": "any", "inet": "inet", "inet6": "inet6"}
	masterChoices = map[string]string{"yes": "yes", "true": "yes", "no": "no", "false": "no", "auto": "auto", "ask": "ask", "autoask": "autoask"}
	ttyChoices    = map[string]string{"yes": "yes", "true": "yes", "no": "no", "false": "no", "force": "force", "auto": "auto"}
	pubkeyChoices = map[string]string{"yes": "yes", "true": "yes", "no": "no", "false": "no", "unbound": "unbound", "host-bound": "host-bound"}
	askChoices    = map[string]string{"yes": "yes", "true": "yes", "no": "no", "false": "no", "ask": "ask"}
	tunnelChoices = map[string]string{"yes": "yes", "true": "yes", "no": "no", "false": "no", "ethernet": "ethernet", "point-to-point": "point-to-point"}
	sessChoices   = map[string]string{"none": "none", "subsystem": "subsystem", "default": "default"}
	canonChoices  = map[string]string{"yes": "yes", "true": "yes", "no": "no", "false": "no", "always": "always"}
	compChoices   = map[string]string{"yes": "yes", "no": "no"}
	weakChoices   = map[string]string{"yes": "yes", "true": "yes", "no": "no", "false": "no", "no-pq-kex": "no-pq-kex"}
)

// keywordTable lists every keyword of OpenSSH 10's readconf.c. It is read
// only; lookupKeyword indexes it.
var keywordTable = []keyword{
	// Block structure.
	{id: "host", name: "Host", kind: kindHost, used: true},
	{id: "match", name: "Match", kind: kindMatch, used: true},
	{id: "include", name: "Include", kind: kindInclude, used: true},
	{id: "ignoreunknown", name: "IgnoreUnknown", kind: kindString, used: true},
	{id: "tag", name: "Tag", kind: kindString, used: true},

	// What gitssh acts on.
	{id: "hostname", name: "HostName", kind: kindString, used: true},
	{id: "port", name: "Port", kind: kindPort, used: true},
	{id: "user", name: "User", kind: kindString, used: true},
	{id: "identityfile", name: "IdentityFile", kind: kindAppend, used: true},
	{id: "certificatefile", name: "CertificateFile", kind: kindAppend, used: true},
	{id: "identitiesonly", name: "IdentitiesOnly", kind: kindFlag, used: true},
	{id: "identityagent", name: "IdentityAgent", kind: kindAgent, used: true},
	{id: "proxycommand", name: "ProxyCommand", kind: kindCommand, used: true},
	{id: "proxyjump", name: "ProxyJump", kind: kindProxyJump, used: true},
	{id: "userknownhostsfile", name: "UserKnownHostsFile", kind: kindFiles, used: true},
	{id: "globalknownhostsfile", name: "GlobalKnownHostsFile", kind: kindFiles, used: true},
	{id: "stricthostkeychecking", name: "StrictHostKeyChecking", kind: kindChoice, choices: strictChoices, used: true},
	{id: "hostkeyalias", name: "HostKeyAlias", kind: kindString, used: true},
	{id: "hostkeyalgorithms", name: "HostKeyAlgorithms", kind: kindString, used: true},
	{id: "hashknownhosts", name: "HashKnownHosts", kind: kindFlag, used: true},
	{id: "connecttimeout", name: "ConnectTimeout", kind: kindTime, used: true},
	{id: "addressfamily", name: "AddressFamily", kind: kindChoice, choices: familyChoices, used: true},
	{id: "serveraliveinterval", name: "ServerAliveInterval", kind: kindTime, used: true},
	{id: "serveralivecountmax", name: "ServerAliveCountMax", kind: kindInt, used: true},
	{id: "tcpkeepalive", name: "TCPKeepAlive", kind: kindFlag, used: true},
	{id: "batchmode", name: "BatchMode", kind: kindFlag, used: true},
	{id: "passwordauthentication", name: "PasswordAuthentication", kind: kindFlag, used: true},
	{id: "kbdinteractiveauthentication", name: "KbdInteractiveAuthentication", kind: kindFlag, used: true},
	{id: "pubkeyauthentication", name: "PubkeyAuthentication", kind: kindChoice, choices: pubkeyChoices, used: true},
	{id: "numberofpasswordprompts", name: "NumberOfPasswordPrompts", kind: kindInt, used: true},
	{id: "sendenv", name: "SendEnv", kind: kindSendEnv, used: true},
	{id: "setenv", name: "SetEnv", kind: kindSetEnv, used: true},
	{id: "controlmaster", name: "ControlMaster", kind: kindChoice, choices: masterChoices, used: true},
	{id: "controlpersist", name: "ControlPersist", kind: kindControlPersist, used: true},
	{id: "loglevel", name: "LogLevel", kind: kindLogLevel, used: true},
	{id: "requesttty", name: "RequestTTY", kind: kindChoice, choices: ttyChoices, used: true},

	// Parsed and shown by -G, not acted on.
	{id: "controlpath", name: "ControlPath", kind: kindString, def: "none", why: "gitssh uses its own control socket"},
	{id: "forwardagent", name: "ForwardAgent", kind: kindForwardAgent, def: "no"},
	{id: "forwardx11", name: "ForwardX11", kind: kindFlag},
	{id: "forwardx11trusted", name: "ForwardX11Trusted", kind: kindFlag},
	{id: "forwardx11timeout", name: "ForwardX11Timeout", kind: kindTime},
	{id: "exitonforwardfailure", name: "ExitOnForwardFailure", kind: kindFlag},
	{id: "xauthlocation", name: "XAuthLocation", kind: kindString},
	{id: "gatewayports", name: "GatewayPorts", kind: kindFlag},
	{id: "kbdinteractivedevices", name: "KbdInteractiveDevices", kind: kindString},
	{id: "hostbasedauthentication", name: "HostbasedAuthentication", kind: kindFlag},
	{id: "gssapiauthentication", name: "GSSAPIAuthentication", kind: kindFlag},
	{id: "gssapidelegatecredentials", name: "GSSAPIDelegateCredentials", kind: kindFlag},
	{id: "pkcs11provider", name: "PKCS11Provider", kind: kindString, def: "none"},
	{id: "securitykeyprovider", name: "SecurityKeyProvider", kind: kindString, def: "internal"},
	{id: "addkeystoagent", name: "AddKeysToAgent", kind: kindWords, def: "no"},
	{id: "localforward", name: "LocalForward", kind: kindForward},
	{id: "remoteforward", name: "RemoteForward", kind: kindForward},
	{id: "dynamicforward", name: "DynamicForward", kind: kindForward},
	{id: "permitremoteopen", name: "PermitRemoteOpen", kind: kindWords, def: "any"},
	{id: "escapechar", name: "EscapeChar", kind: kindString},
	{id: "connectionattempts", name: "ConnectionAttempts", kind: kindInt},
	{id: "checkhostip", name: "CheckHostIP", kind: kindFlag, def: "no"},
	{id: "compression", name: "Compression", kind: kindChoice, choices: compChoices},
	{id: "syslogfacility", name: "SyslogFacility", kind: kindString, def: "USER"},
	{id: "logverbose", name: "LogVerbose", kind: kindWords, def: "none"},
	{id: "preferredauthentications", name: "PreferredAuthentications", kind: kindString},
	{id: "casignaturealgorithms", name: "CASignatureAlgorithms", kind: kindString},
	{id: "ciphers", name: "Ciphers", kind: kindString},
	{id: "macs", name: "MACs", kind: kindString},
	{id: "kexalgorithms", name: "KexAlgorithms", kind: kindString},
	{id: "hostbasedacceptedalgorithms", name: "HostbasedAcceptedAlgorithms", kind: kindString},
	{id: "pubkeyacceptedalgorithms", name: "PubkeyAcceptedAlgorithms", kind: kindString},
	{id: "bindaddress", name: "BindAddress", kind: kindString},
	{id: "bindinterface", name: "BindInterface", kind: kindString},
	{id: "clearallforwardings", name: "ClearAllForwardings", kind: kindFlag},
	{id: "enablesshkeysign", name: "EnableSSHKeysign", kind: kindFlag},
	{id: "verifyhostkeydns", name: "VerifyHostKeyDNS", kind: kindChoice, choices: askChoices},
	{id: "nohostauthenticationforlocalhost", name: "NoHostAuthenticationForLocalhost", kind: kindFlag},
	{id: "rekeylimit", name: "RekeyLimit", kind: kindWords},
	{id: "tunnel", name: "Tunnel", kind: kindChoice, choices: tunnelChoices},
	{id: "tunneldevice", name: "TunnelDevice", kind: kindString},
	{id: "localcommand", name: "LocalCommand", kind: kindCommand, def: "none"},
	{id: "permitlocalcommand", name: "PermitLocalCommand", kind: kindFlag},
	{id: "remotecommand", name: "RemoteCommand", kind: kindCommand, def: "none"},
	{id: "visualhostkey", name: "VisualHostKey", kind: kindFlag},
	{id: "ipqos", name: "IPQoS", kind: kindWords},
	{id: "sessiontype", name: "SessionType", kind: kindChoice, choices: sessChoices, def: "default"},
	{id: "stdinnull", name: "StdinNull", kind: kindFlag, def: "no"},
	{id: "forkafterauthentication", name: "ForkAfterAuthentication", kind: kindFlag, def: "no"},
	{id: "proxyusefdpass", name: "ProxyUseFdpass", kind: kindFlag},
	{id: "canonicaldomains", name: "CanonicalDomains", kind: kindWords, def: "none"},
	{id: "canonicalizefallbacklocal", name: "CanonicalizeFallbackLocal", kind: kindFlag},
	{id: "canonicalizehostname", name: "CanonicalizeHostname", kind: kindChoice, choices: canonChoices},
	{id: "canonicalizemaxdots", name: "CanonicalizeMaxDots", kind: kindInt},
	{id: "canonicalizepermittedcnames", name: "CanonicalizePermittedCNAMEs", kind: kindWords, def: "none"},
	{id: "streamlocalbindmask", name: "StreamLocalBindMask", kind: kindString},
	{id: "streamlocalbindunlink", name: "StreamLocalBindUnlink", kind: kindFlag},
	{id: "revokedhostkeys", name: "RevokedHostKeys", kind: kindWords, def: "none"},
	{id: "fingerprinthash", name: "FingerprintHash", kind: kindString},
	{id: "updatehostkeys", name: "UpdateHostKeys", kind: kindChoice, choices: askChoices, def: "yes"},
	{id: "knownhostscommand", name: "KnownHostsCommand", kind: kindCommand, def: "none"},
	{id: "requiredrsasize", name: "RequiredRSASize", kind: kindInt, def: "1024"},
	{id: "enableescapecommandline", name: "EnableEscapeCommandline", kind: kindFlag, def: "no"},
	{id: "obscurekeystroketiming", name: "ObscureKeystrokeTiming", kind: kindWords, def: "yes"},
	{id: "channeltimeout", name: "ChannelTimeout", kind: kindWords, def: "none"},
	{id: "versionaddendum", name: "VersionAddendum", kind: kindCommand, def: "none"},
	{id: "warnweakcrypto", name: "WarnWeakCrypto", kind: kindChoice, choices: weakChoices, def: "yes"},
	{id: "refuseconnection", name: "RefuseConnection", kind: kindRefuse},

	// Deprecated and unsupported, as in OpenSSH.
	{id: "protocol", name: "Protocol", kind: kindIgnored},
	{id: "cipher", name: "Cipher", kind: kindDeprecated},
	{id: "fallbacktorsh", name: "FallBackToRsh", kind: kindDeprecated},
	{id: "globalknownhostsfile2", name: "GlobalKnownHostsFile2", kind: kindDeprecated},
	{id: "rhostsauthentication", name: "RhostsAuthentication", kind: kindDeprecated},
	{id: "userknownhostsfile2", name: "UserKnownHostsFile2", kind: kindDeprecated},
	{id: "useroaming", name: "UseRoaming", kind: kindDeprecated},
	{id: "usersh", name: "UseRsh", kind: kindDeprecated},
	{id: "useprivilegedport", name: "UsePrivilegedPort", kind: kindDeprecated},
	{id: "afstokenpassing", name: "AFSTokenPassing", kind: kindUnsupported},
	{id: "kerberosauthentication", name: "KerberosAuthentication", kind: kindUnsupported},
	{id: "kerberostgtpassing", name: "KerberosTGTPassing", kind: kindUnsupported},
	{id: "rsaauthentication", name: "RSAAuthentication", kind: kindUnsupported},
	{id: "rhostsrsaauthentication", name: "RhostsRSAAuthentication", kind: kindUnsupported},
	{id: "compressionlevel", name: "CompressionLevel", kind: kindUnsupported},
}

// keywordAliases are OpenSSH's other names for keywords.
var keywordAliases = map[string]string{
	"challengeresponseauthentication": "kbdinteractiveauthentication",
	"skeyauthentication":              "kbdinteractiveauthentication",
	"tisauthentication":               "kbdinteractiveauthentication",
	"dsaauthentication":               "pubkeyauthentication",
	"identityfile2":                   "identityfile",
	"keepalive":                       "tcpkeepalive",
	"hostbasedkeytypes":               "hostbasedacceptedalgorithms",
	"pubkeyacceptedkeytypes":          "pubkeyacceptedalgorithms",
	"smartcarddevice":                 "pkcs11provider",
}

// lookupKeyword finds a keyword by its lowercase name or alias.
func lookupKeyword(lower string) (*keyword, bool) {
	if id, ok := keywordAliases[lower]; ok {
		lower = id
	}
	for i := range keywordTable {
		if keywordTable[i].id == lower {
			return &keywordTable[i], true
		}
	}
	return nil, false
}

// logLevels maps OpenSSH's level names to the names Destination uses.
var logLevels = map[string]string{
	"quiet": "QUIET", "fatal": "FATAL", "error": "ERROR", "info": "INFO", "verbose": "VERBOSE",
	"debug": "DEBUG1", "debug1": "DEBUG1", "debug2": "DEBUG2", "debug3": "DEBUG3",
}

// parseValue checks the arguments of a line for kw and returns them in the
// form options stores: flags and choices normalized, times in seconds.
// getenv is used to check ${VAR} where OpenSSH checks it at read time.
func (kw *keyword) parseValue(l line, getenv func(string) string) ([]string, error) {
	a := valueArgs{lkw: strings.ToLower(l.keyword), args: l.args, rest: strings.TrimLeft(l.rest, whitespace+"=")}
	switch kw.kind {
	case kindString, kindAppend:
		return a.word()
	case kindFlag:
		return a.choose(flagChoices)
	case kindChoice:
		return a.choose(kw.choices)
	case kindInt:
		return a.integer()
	case kindTime:
		return a.seconds()
	case kindPort:
		return a.port()
	case kindAgent:
		return a.agentPath(getenv)
	case kindForwardAgent:
		return a.forwardAgent(getenv)
	case kindFiles:
		return a.files()
	case kindWords, kindDeprecated, kindUnsupported, kindIgnored:
		return a.args, nil
	case kindCommand:
		return []string{a.rest}, nil
	case kindForward:
		return a.forward(kw.id)
	case kindSendEnv:
		return a.sendEnv()
	case kindSetEnv:
		return a.setEnv()
	case kindProxyJump:
		return a.proxyJump()
	case kindControlPersist:
		return a.controlPersist()
	case kindLogLevel:
		return a.logLevel()
	case kindRefuse:
		// OpenSSH refuses before it looks for extra arguments.
		if a.missing() {
			return nil, a.bad("Missing argument.")
		}
		return a.args[:1], nil
	}
	return a.args, nil
}

// valueArgs are the arguments of one line, with the checks OpenSSH makes
// of them in its own words. Each parser of a kind of value is a method.
type valueArgs struct {
	lkw  string   // the keyword as written, lowercased, for messages
	args []string // the line's words
	rest string   // the unsplit rest of the line, leading separator removed
}

func (a valueArgs) bad(format string, v ...any) error {
	return &lineError{msg: fmt.Sprintf(format, v...)}
}

// missing reports a line without a first argument.
func (a valueArgs) missing() bool { return len(a.args) == 0 || a.args[0] == "" }

// first is the first argument, or "".
func (a valueArgs) first() string {
	if len(a.args) == 0 {
		return ""
	}
	return a.args[0]
}

// noExtra fails on arguments after the first.
func (a valueArgs) noExtra() error {
	if len(a.args) > 1 {
		return a.bad("keyword %s extra arguments at end of line", a.lkw)
	}
	return nil
}

// single returns the one argument of a line, failing with missingMsg when
// there is none.
func (a valueArgs) single(missingMsg string) (string, error) {
	if a.missing() {
		return "", &lineError{msg: missingMsg}
	}
	if err := a.noExtra(); err != nil {
		return "", err
	}
	return a.args[0], nil
}

// word is a value of one word.
func (a valueArgs) word() ([]string, error) {
	v, err := a.single("Missing argument.")
	if err != nil {
		return nil, err
	}
	return []string{v}, nil
}

// choose is one word out of choices, stored as choices maps it.
func (a valueArgs) choose(choices map[string]string) ([]string, error) {
	if a.missing() {
		return nil, a.bad("missing argument.")
	}
	v, ok := choices[strings.ToLower(a.args[0])]
	if !ok {
		return nil, a.bad("unsupported option %q.", a.args[0])
	}
	if err := a.noExtra(); err != nil {
		return nil, err
	}
	return []string{v}, nil
}

// integer is a non-negative integer.
func (a valueArgs) integer() ([]string, error) {
	n, errWords := parseInt(a.first())
	if errWords != "" {
		return nil, a.bad("integer value %s.", errWords)
	}
	if err := a.noExtra(); err != nil {
		return nil, err
	}
	return []string{itoa(n)}, nil
}

// time is "none" or an OpenSSH time, stored in seconds.
func (a valueArgs) seconds() ([]string, error) {
	v, err := a.single("missing time value.")
	if err != nil {
		return nil, err
	}
	if v == "none" {
		return []string{"none"}, nil
	}
	d, err := parseTime(v)
	if err != nil {
		return nil, a.bad("invalid time value.")
	}
	return []string{formatSeconds(d)}, nil
}

// port is a port number, 1 to 65535.
func (a valueArgs) port() ([]string, error) {
	v, err := a.single("Missing argument.")
	if err != nil {
		return nil, err
	}
	if _, ok := parsePort(v); !ok {
		return nil, a.bad("Bad port '%s'.", v)
	}
	return []string{v}, nil
}

// forwardAgent is a flag or, like IdentityAgent, an agent path.
func (a valueArgs) forwardAgent(getenv func(string) string) ([]string, error) {
	v, err := a.single("Missing argument.")
	if err != nil {
		return nil, err
	}
	if f, ok := flagChoices[strings.ToLower(v)]; ok {
		return []string{f}, nil
	}
	return a.agentPath(getenv)
}

// agentPath is an agent socket path whose environment references are
// checked when the line is read, as OpenSSH does.
func (a valueArgs) agentPath(getenv func(string) string) ([]string, error) {
	v, err := a.single("Missing argument.")
	if err != nil {
		return nil, err
	}
	if checkDollar(v, getenv) != nil {
		return nil, a.bad("Invalid environment expansion %s.", v)
	}
	if len(v) > 1 && v[0] == '$' && v[1] != '{' && !validEnvName(v[1:]) {
		return nil, a.bad("Invalid environment name %s.", v)
	}
	return []string{v}, nil
}

// files is a list of files, or "none" alone.
func (a valueArgs) files() ([]string, error) {
	for i, v := range a.args {
		if v == "" {
			return nil, a.bad("keyword %s empty argument", a.lkw)
		}
		if strings.EqualFold(v, "none") && (i > 0 || len(a.args) > 1) {
			return nil, a.bad("keyword %s \"none\" argument must appear alone.", a.lkw)
		}
	}
	return a.args, nil
}

// forward is a LocalForward (listen and target), RemoteForward (one or
// two) or DynamicForward (listen only) specification, stored as one value.
func (a valueArgs) forward(id string) ([]string, error) {
	if a.missing() {
		return nil, a.bad("Missing argument.")
	}
	if id == "localforward" && (len(a.args) < 2 || a.args[1] == "") {
		return nil, a.bad("Missing target argument.")
	}
	if len(a.args) > 2 || id == "dynamicforward" && len(a.args) > 1 {
		return nil, a.bad("keyword %s extra arguments at end of line", a.lkw)
	}
	return []string{strings.Join(a.args, " ")}, nil
}

// sendEnv is a list of variable name patterns.
func (a valueArgs) sendEnv() ([]string, error) {
	if len(a.args) == 0 {
		return nil, a.bad("no %s specified", a.lkw)
	}
	for _, v := range a.args {
		if v == "" || strings.Contains(v, "=") {
			return nil, a.bad("Invalid environment name.")
		}
	}
	return a.args, nil
}

// setEnv is a list of NAME=value pairs; the first of each name counts.
func (a valueArgs) setEnv() ([]string, error) {
	var vals []string
	for _, v := range a.args {
		name, _, ok := strings.Cut(v, "=")
		if !ok {
			return nil, a.bad("Invalid SetEnv.")
		}
		if lookupEnv(vals, name) < 0 {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		return nil, a.bad("no %s specified", a.lkw)
	}
	return vals, nil
}

// proxyJump is "none" or a list of hops, read from the unsplit line.
func (a valueArgs) proxyJump() ([]string, error) {
	spec := a.rest
	if strings.EqualFold(spec, "none") {
		return []string{"none"}, nil
	}
	spec, _, _ = strings.Cut(spec, "#")
	spec = strings.TrimRight(spec, whitespace)
	if _, err := parseJumpSpec(spec); err != nil {
		return nil, a.bad("Invalid ProxyJump \"%s\"", spec)
	}
	return []string{spec}, nil
}

// controlPersist is yes, no or a time; a zero time means yes.
func (a valueArgs) controlPersist() ([]string, error) {
	v, err := a.single("Missing ControlPersist argument.")
	if err != nil {
		return nil, err
	}
	switch v {
	case "no", "false":
		return []string{"no"}, nil
	case "yes", "true":
		return []string{"yes"}, nil
	}
	d, err := parseTime(v)
	if err != nil {
		return nil, a.bad("Bad ControlPersist argument.")
	}
	if d == 0 {
		// OpenSSH: a zero time persists forever, like "yes".
		return []string{"yes"}, nil
	}
	return []string{formatSeconds(d)}, nil
}

// logLevel is one of OpenSSH's level names, stored as Destination names it.
func (a valueArgs) logLevel() ([]string, error) {
	arg := a.first()
	lvl, ok := logLevels[strings.ToLower(arg)]
	if !ok {
		if arg == "" {
			arg = "<NONE>"
		}
		return nil, a.bad("unsupported log level '%s'", arg)
	}
	if err := a.noExtra(); err != nil {
		return nil, err
	}
	return []string{lvl}, nil
}

// defaultValue is the stored form of an unused keyword's default, or ""
// when it has none (then any value is worth a note).
func (kw *keyword) defaultValue() string {
	def := kw.def
	if def == "" {
		def = ssh_config.Default(kw.name)
	}
	if def == "" {
		return ""
	}
	args, err := argvSplit(def, false)
	if err != nil {
		return def
	}
	vals, err := kw.parseValue(line{keyword: kw.name, rest: def, args: args}, nil)
	if err != nil {
		return def
	}
	return strings.Join(vals, " ")
}

// lookupEnv returns the index of NAME in a list of NAME=value pairs, or -1.
func lookupEnv(pairs []string, name string) int {
	for i, p := range pairs {
		if n, _, _ := strings.Cut(p, "="); n == name {
			return i
		}
	}
	return -1
}

// source is where an option value came from.
type source struct {
	file string // a configuration file, or "command-line"
	line int
}

func (s source) String() string { return fmt.Sprintf("%s line %d", s.file, s.line) }

// commandLine is the source of -o options and flags, as OpenSSH names it.
var commandLine = source{file: "command-line"}

// optValue is one stored option value.
type optValue struct {
	args []string
	src  source
}

// options accumulates option values while files are read, with OpenSSH's
// rules: the first value of most keywords wins; a few accumulate.
type options struct {
	single map[string]optValue   // keyword id → the value in effect
	multi  map[string][]optValue // accumulating keywords → values in order
}

func newOptions() *options {
	return &options{single: map[string]optValue{}, multi: map[string][]optValue{}}
}

// get returns the value of a first-value-wins keyword.
func (o *options) get(id string) (optValue, bool) {
	v, ok := o.single[id]
	return v, ok
}

// first returns the first word of a first-value-wins keyword, or "".
func (o *options) first(id string) string {
	if v, ok := o.single[id]; ok && len(v.args) > 0 {
		return v.args[0]
	}
	return ""
}

// apply records a parsed value for kw, as an active line does in OpenSSH.
func (o *options) apply(kw *keyword, vals []string, src source) {
	switch kw.kind {
	case kindAppend, kindForward:
		for _, v := range o.multi[kw.id] {
			if v.args[0] == vals[0] {
				return // OpenSSH ignores duplicates
			}
		}
		o.multi[kw.id] = append(o.multi[kw.id], optValue{args: vals, src: src})
	case kindSendEnv:
		for _, pat := range vals {
			if rm, ok := strings.CutPrefix(pat, "-"); ok {
				kept := o.multi[kw.id][:0:0]
				for _, v := range o.multi[kw.id] {
					if !matchPattern(v.args[0], rm) {
						kept = append(kept, v)
					}
				}
				o.multi[kw.id] = kept
				continue
			}
			if !slices.ContainsFunc(o.multi[kw.id], func(v optValue) bool { return v.args[0] == pat }) {
				// OpenSSH keeps duplicates (the final pass adds them
				// again); they mean nothing.
				o.multi[kw.id] = append(o.multi[kw.id], optValue{args: []string{pat}, src: src})
			}
		}
	case kindProxyJump:
		// OpenSSH's parse_jump: "none" only blocks later ProxyJump lines;
		// a jump list applies only if neither ProxyCommand nor ProxyJump
		// is set yet, and then blocks later ProxyCommand lines.
		if _, set := o.single["proxyjump"]; set {
			return
		}
		if vals[0] == "none" {
			o.single["proxyjump"] = optValue{args: vals, src: src}
			return
		}
		if _, set := o.single["proxycommand"]; set {
			return
		}
		o.single["proxyjump"] = optValue{args: vals, src: src}
		o.single["proxycommand"] = optValue{args: []string{"none"}, src: src}
	default:
		if _, set := o.single[kw.id]; !set {
			o.single[kw.id] = optValue{args: vals, src: src}
		}
	}
}

// list returns the accumulated values of kw, one word each.
func (o *options) list(id string) []string {
	var out []string
	for _, v := range o.multi[id] {
		out = append(out, v.args[0])
	}
	return out
}
