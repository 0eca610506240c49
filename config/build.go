package config

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file turns the options read for a destination into a Destination:
// defaults filled in, tokens, "~" and ${VAR} expanded per option as ssh
// does, options gitssh does not act on reported in Notes.

// defaultIdentityFiles are the files ssh tries when no IdentityFile is set
// (OpenSSH's list without DSA and XMSS keys, which OpenSSH 10 and
// x/crypto do not support).
var defaultIdentityFiles = []string{
	"~/.ssh/id_rsa",
	"~/.ssh/id_ecdsa",
	"~/.ssh/id_ecdsa_sk",
	"~/.ssh/id_ed25519",
	"~/.ssh/id_ed25519_sk",
}

type builder struct {
	env           Env
	opts          *options
	notes         *notes
	alias         string
	hostname      string
	userOnCmdline bool // the user came from -l or the destination

	x expander
	d Destination
}

// build returns the Destination and the expanded ProxyJump list ("" if
// none), whose hops the caller resolves.
func (b *builder) build() (Destination, string, error) {
	jumpSpec, err := b.buildIdentity()
	if err != nil {
		return Destination{}, "", err
	}
	if err := b.buildIdentities(); err != nil {
		return Destination{}, "", err
	}
	if jumpSpec, err = b.buildRoute(jumpSpec); err != nil {
		return Destination{}, "", err
	}
	if err := b.buildHostKeys(); err != nil {
		return Destination{}, "", err
	}
	b.buildConnection()
	b.buildAuthentication()
	if err := b.buildSessions(); err != nil {
		return Destination{}, "", err
	}
	b.reportUnused()
	return b.d, jumpSpec, nil
}

// buildIdentity decides who and where: alias, host name, port and user,
// and the token values the other options expand with. It returns the
// ProxyJump list as written ("" for none).
func (b *builder) buildIdentity() (string, error) {
	o := b.opts
	d := &b.d
	d.Alias = b.alias
	d.HostName = b.hostname
	d.Port = 22
	if p, ok := parsePort(o.first("port")); ok {
		d.Port = p
	}

	jumpSpec := o.first("proxyjump")
	if strings.EqualFold(jumpSpec, "none") {
		jumpSpec = ""
	}
	user := o.first("user")
	userDefault := user == ""
	if userDefault {
		user = b.env.LocalUser
	}
	keyAlias := strings.ToLower(o.first("hostkeyalias"))
	b.x = expander{
		tokens: tokenValues{
			localHost: b.env.LocalHost,
			home:      b.env.Home,
			localUser: b.env.LocalUser,
			uid:       itoa(b.env.UID),
			host:      d.HostName,
			alias:     d.Alias,
			port:      itoa(d.Port),
			keyAlias:  cmp.Or(keyAlias, d.Alias),
			jumpHost:  lastJumpHost(jumpSpec),
		},
		getenv: b.env.Getenv,
	}
	if !b.userOnCmdline && !userDefault {
		// A User from the configuration may use tokens, as in recent OpenSSH.
		v, _ := o.get("user")
		u, err := b.expand(v, user, tokensNoUser, true, false)
		if err != nil {
			return "", err
		}
		if u != user && !validRemoteUser(u) {
			return "", &Error{Msg: "remote username contains invalid characters"}
		}
		user = u
	}
	d.User = user
	b.x.tokens.user = user
	return jumpSpec, nil
}

// buildIdentities decides the keys: identity and certificate files and
// the agent.
func (b *builder) buildIdentities() error {
	o := b.opts
	d := &b.d
	ids := o.multi["identityfile"]
	var rawIDs []string
	if len(ids) == 0 {
		d.DefaultIdentityFiles = true
		for _, f := range defaultIdentityFiles {
			ids = append(ids, optValue{args: []string{f}})
		}
	}
	for _, v := range ids {
		rawIDs = append(rawIDs, v.args[0])
		if strings.EqualFold(v.args[0], "none") {
			continue
		}
		p, err := b.expand(v, v.args[0], tokensDefault, true, true)
		if err != nil {
			return err
		}
		d.IdentityFiles = append(d.IdentityFiles, b.abs(p))
	}
	b.setting("identityfile", rawIDs...)
	for _, v := range o.multi["certificatefile"] {
		b.setting("certificatefile", v.args[0])
		p, err := b.expand(v, v.args[0], tokensDefault, true, true)
		if err != nil {
			return err
		}
		d.CertificateFiles = append(d.CertificateFiles, b.abs(p))
	}
	d.IdentitiesOnly = b.flag("identitiesonly", false)
	if v, ok := o.get("identityagent"); ok {
		agent, err := b.expand(v, v.args[0], tokensDefault, true, true)
		if err != nil {
			return err
		}
		b.setting("identityagent", agent)
		switch {
		case strings.EqualFold(agent, "none"):
			d.IdentityAgent = "none"
		case agent == "SSH_AUTH_SOCK":
			d.IdentityAgent = ""
		case strings.HasPrefix(agent, "$"):
			d.IdentityAgent = b.getenv(agent[1:])
			if d.IdentityAgent == "" {
				b.notes.add("%s: IdentityAgent %s: variable not set, agent disabled", v.src, agent)
				d.IdentityAgent = "none"
			}
		default:
			d.IdentityAgent = agent
		}
		if d.IdentityAgent != "none" {
			d.IdentityAgent = b.abs(d.IdentityAgent)
		}
	}
	return nil
}

// buildRoute decides how to get there: ProxyCommand, and ProxyJump
// expanded from jumpSpec.
func (b *builder) buildRoute(jumpSpec string) (string, error) {
	o := b.opts
	d := &b.d
	if v, ok := o.get("proxycommand"); ok && !strings.EqualFold(v.args[0], "none") {
		b.setting("proxycommand", v.args[0])
		cmd, err := b.expand(v, v.args[0], tokensProxy, false, false)
		if err != nil {
			return "", err
		}
		d.ProxyCommand = cmd
	}
	if jumpSpec != "" {
		v, _ := o.get("proxyjump")
		b.setting("proxyjump", jumpSpec)
		spec, err := b.expand(v, jumpSpec, tokensProxy, false, false)
		if err != nil {
			return "", err
		}
		jumpSpec = spec
	}
	return jumpSpec, nil
}

// buildHostKeys decides how the server's key is checked.
func (b *builder) buildHostKeys() error {
	o := b.opts
	d := &b.d
	var err error
	d.UserKnownHostsFiles, err = b.files("userknownhostsfile", []string{"~/.ssh/known_hosts", "~/.ssh/known_hosts2"}, true)
	if err != nil {
		return err
	}
	if len(d.UserKnownHostsFiles) > 0 {
		b.setting("userknownhostsfile", d.UserKnownHostsFiles...) // ssh -G shows them expanded, not made absolute
	}
	d.UserKnownHostsFiles = b.absAll(d.UserKnownHostsFiles)
	if v, ok := o.get("globalknownhostsfile"); ok {
		b.setting("globalknownhostsfile", v.args...) // ssh -G shows it unexpanded
	}
	d.GlobalKnownHostsFiles, err = b.files("globalknownhostsfile", []string{"/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"}, false)
	if err != nil {
		return err
	}
	d.GlobalKnownHostsFiles = b.absAll(d.GlobalKnownHostsFiles)
	d.StrictHostKeyChecking = cmp.Or(o.first("stricthostkeychecking"), "ask")
	d.HostKeyAlias = strings.ToLower(o.first("hostkeyalias"))
	if algs := o.first("hostkeyalgorithms"); algs != "" {
		d.HostKeyAlgorithms = strings.Split(algs, ",")
	}
	d.HashKnownHosts = b.flag("hashknownhosts", false)
	return nil
}

// buildConnection decides the TCP connection and its keepalives.
func (b *builder) buildConnection() {
	o := b.opts
	d := &b.d
	d.ConnectTimeout = b.seconds("connecttimeout", 0)
	d.AddressFamily = cmp.Or(o.first("addressfamily"), "any")
	d.ServerAliveInterval = b.seconds("serveraliveinterval", DefaultServerAliveInterval)
	d.ServerAliveCountMax = b.int("serveralivecountmax", DefaultServerAliveCountMax)
	d.TCPKeepAlive = b.flag("tcpkeepalive", true)
}

// buildAuthentication decides which ways of authenticating are tried.
func (b *builder) buildAuthentication() {
	o := b.opts
	d := &b.d
	d.BatchMode = b.flag("batchmode", false)
	d.PasswordAuthentication = b.flag("passwordauthentication", true)
	d.KbdInteractiveAuthentication = b.flag("kbdinteractiveauthentication", true)
	if v := o.first("pubkeyauthentication"); v != "" {
		b.setting("pubkeyauthentication", v) // "unbound" and "host-bound" are shown as such
	}
	d.PubkeyAuthentication = cmp.Or(o.first("pubkeyauthentication"), "yes") != "no"
	d.NumberOfPasswordPrompts = b.int("numberofpasswordprompts", 3)
}

// buildSessions decides what each session carries and how the master
// behaves: environment, ControlMaster, ControlPersist, log level, tty.
func (b *builder) buildSessions() error {
	o := b.opts
	d := &b.d
	d.SendEnv = o.list("sendenv")
	if v, ok := o.get("setenv"); ok {
		for _, pair := range v.args {
			name, value, _ := strings.Cut(pair, "=")
			value, err := b.expand(v, value, tokensDefault, true, false)
			if err != nil {
				return err
			}
			d.SetEnv = append(d.SetEnv, name+"="+value)
		}
	}
	d.ControlMaster = cmp.Or(o.first("controlmaster"), DefaultControlMaster)
	switch p := o.first("controlpersist"); p {
	case "", "no":
		d.ControlPersist = DefaultControlPersist
	case "yes":
		d.ControlPersist = 0
	default:
		n, _ := strconv.Atoi(p)
		d.ControlPersist = time.Duration(n) * time.Second
	}
	if cp := o.first("controlpath"); !strings.EqualFold(cp, "none") {
		d.ControlPath = cp
	}
	d.LogLevel = cmp.Or(o.first("loglevel"), "INFO")
	d.RequestTTY = cmp.Or(o.first("requesttty"), "auto")
	return nil
}

// expand expands one value set at v.src: "~" first if tilde, then the
// tokens of set and, with dollar, ${VAR}.
func (b *builder) expand(v optValue, s string, set tokenSet, dollar, tilde bool) (string, error) {
	if tilde {
		t, ok := expandTilde(s, b.env.Home, b.env.LocalUser)
		if !ok {
			b.notes.add("%s: %s: ~user is not supported, path used as is", v.src, s)
		}
		s = t
	}
	out, err := b.x.expand(s, set, dollar)
	if err != nil {
		where := v.src.String()
		if v.src.file == "" {
			where = "default"
		}
		return "", &Error{Msg: fmt.Sprintf("%s: %s: %v", where, s, err), Err: err}
	}
	return out, nil
}

// files returns a list of files option: expanded, an empty list for "none",
// def when unset.
func (b *builder) files(id string, def []string, tokens bool) ([]string, error) {
	v, ok := b.opts.get(id)
	if !ok {
		v = optValue{args: def}
	}
	if strings.EqualFold(v.args[0], "none") {
		return []string{}, nil
	}
	var out []string
	for _, f := range v.args {
		if !tokens {
			p, _ := expandTilde(f, b.env.Home, b.env.LocalUser)
			out = append(out, p)
			continue
		}
		p, err := b.expand(v, f, tokensDefault, true, true)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// abs makes an expanded path absolute against the client's working
// directory, as ssh, which runs there, would open it. "~" and tokens are
// expanded first (OpenSSH's tilde_expand_filename, then the relative path
// is opened from the working directory).
func (b *builder) abs(p string) string {
	if p == "" || b.env.WorkDir == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(b.env.WorkDir, p)
}

func (b *builder) absAll(ps []string) []string {
	if ps == nil {
		return nil
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = b.abs(p)
	}
	return out
}

func (b *builder) flag(id string, def bool) bool {
	switch b.opts.first(id) {
	case "yes":
		return true
	case "no":
		return false
	}
	return def
}

func (b *builder) int(id string, def int) int {
	if n, err := strconv.Atoi(b.opts.first(id)); err == nil {
		return n
	}
	return def
}

func (b *builder) seconds(id string, def time.Duration) time.Duration {
	if n, err := strconv.Atoi(b.opts.first(id)); err == nil {
		return time.Duration(n) * time.Second
	}
	return def
}

func (b *builder) getenv(name string) string {
	if b.env.Getenv == nil {
		return ""
	}
	return b.env.Getenv(name)
}

// setting records a value for ssh -G.
func (b *builder) setting(key string, values ...string) {
	b.d.settings = append(b.d.settings, setting{key: key, values: values})
}

// reportUnused keeps the options gitssh does not act on for ssh -G, and
// notes those set to something other than OpenSSH's default.
func (b *builder) reportUnused() {
	type unusedNote struct {
		src  source
		text string
	}
	var notes []unusedNote
	note := func(src source, kw *keyword, val string) {
		why := cmp.Or(kw.why, "not implemented by gitssh")
		notes = append(notes, unusedNote{src, fmt.Sprintf("%s: ignoring %s %s: %s", src, kw.name, val, why)})
	}
	defer func() {
		slices.SortStableFunc(notes, func(a, b unusedNote) int {
			return cmp.Or(strings.Compare(a.src.file, b.src.file), a.src.line-b.src.line)
		})
		for _, n := range notes {
			b.notes.add("%s", n.text)
		}
	}()
	for i := range keywordTable {
		kw := &keywordTable[i]
		if kw.used {
			if kw.id == "ignoreunknown" || kw.id == "tag" {
				if v, ok := b.opts.get(kw.id); ok {
					b.setting(kw.id, v.args...)
				}
			}
			continue
		}
		if v, ok := b.opts.get(kw.id); ok {
			val := strings.Join(v.args, " ")
			b.setting(kw.id, val)
			if def := kw.defaultValue(); def == "" || !strings.EqualFold(val, def) {
				note(v.src, kw, val)
			}
		}
		for _, v := range b.opts.multi[kw.id] {
			b.setting(kw.id, v.args[0])
			note(v.src, kw, v.args[0])
		}
	}
}
