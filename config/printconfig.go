package config

import (
	"io"
	"strconv"
	"strings"
	"time"
)

// WriteG writes the configuration in the format of ssh -G: one option per
// line, a lowercase keyword, a space, the value; in OpenSSH's order, which
// starts with host, user, hostname and port. The options gitssh acts on are
// always written (with defaults filled in); the others only when set.
//
// Values are written as OpenSSH 9 writes them: "true"/"false" where it
// does (stricthostkeychecking, controlmaster, ...), times in seconds,
// identity and certificate files and ProxyCommand as written in the
// configuration, user known-hosts files expanded. ControlPath is written as
// given, where ssh -G expands it.
func (d Destination) WriteG(w io.Writer) error {
	g := gWriter{d: d}
	g.line("host", d.Alias)
	g.line("user", d.User)
	g.line("hostname", d.HostName)
	g.line("port", strconv.Itoa(d.Port))

	// Flags.
	g.line("addressfamily", d.AddressFamily)
	g.line("batchmode", yesNo(d.BatchMode))
	g.unused("canonicalizefallbacklocal", "canonicalizehostname", "checkhostip", "compression")
	g.line("controlmaster", trueFalse(d.ControlMaster))
	g.unused("enablesshkeysign", "clearallforwardings", "exitonforwardfailure", "fingerprinthash",
		"forwardx11", "forwardx11trusted", "gatewayports", "gssapiauthentication", "gssapidelegatecredentials")
	g.line("hashknownhosts", yesNo(d.HashKnownHosts))
	g.unused("hostbasedauthentication")
	g.line("identitiesonly", yesNo(d.IdentitiesOnly))
	g.line("kbdinteractiveauthentication", yesNo(d.KbdInteractiveAuthentication))
	g.unused("nohostauthenticationforlocalhost")
	g.line("passwordauthentication", yesNo(d.PasswordAuthentication))
	g.unused("permitlocalcommand", "proxyusefdpass")
	if v, ok := d.setting("pubkeyauthentication"); ok {
		g.line("pubkeyauthentication", trueFalse(v[0]))
	} else {
		g.line("pubkeyauthentication", trueFalse(yesNo(d.PubkeyAuthentication)))
	}
	g.line("requesttty", trueFalse(d.RequestTTY))
	g.unused("sessiontype", "stdinnull", "forkafterauthentication", "streamlocalbindunlink")
	g.line("stricthostkeychecking", trueFalse(d.StrictHostKeyChecking))
	g.line("tcpkeepalive", yesNo(d.TCPKeepAlive))
	g.unused("tunnel", "verifyhostkeydns", "visualhostkey", "updatehostkeys", "enableescapecommandline", "warnweakcrypto")

	// Numbers.
	g.unused("canonicalizemaxdots", "connectionattempts", "forwardx11timeout")
	g.line("numberofpasswordprompts", strconv.Itoa(d.NumberOfPasswordPrompts))
	g.line("serveralivecountmax", strconv.Itoa(d.ServerAliveCountMax))
	g.line("serveraliveinterval", formatSeconds(d.ServerAliveInterval))
	g.unused("requiredrsasize", "obscurekeystroketiming")

	// Strings.
	g.unused("bindaddress", "bindinterface", "ciphers")
	if d.ControlPath != "" {
		g.line("controlpath", d.ControlPath)
	}
	if len(d.HostKeyAlgorithms) > 0 {
		g.line("hostkeyalgorithms", strings.Join(d.HostKeyAlgorithms, ","))
	}
	if d.HostKeyAlias != "" {
		g.line("hostkeyalias", d.HostKeyAlias)
	}
	g.unused("hostbasedacceptedalgorithms")
	if v, ok := d.setting("identityagent"); ok {
		g.line("identityagent", v...)
	} else if d.IdentityAgent != "" {
		g.line("identityagent", d.IdentityAgent)
	}
	g.unused("ignoreunknown", "kbdinteractivedevices", "kexalgorithms", "casignaturealgorithms", "localcommand", "remotecommand")
	g.line("loglevel", gLogLevel(d.LogLevel))
	g.unused("macs", "pkcs11provider", "securitykeyprovider", "preferredauthentications", "pubkeyacceptedalgorithms",
		"xauthlocation", "knownhostscommand", "tag", "versionaddendum")

	// Forwardings and lists.
	g.unused("dynamicforward", "localforward", "remoteforward")
	if v, ok := d.setting("identityfile"); ok {
		g.lines("identityfile", v)
	} else {
		g.lines("identityfile", d.IdentityFiles)
	}
	g.unused("canonicaldomains")
	if v, ok := d.setting("certificatefile"); ok {
		g.lines("certificatefile", v)
	} else {
		g.lines("certificatefile", d.CertificateFiles)
	}
	if v, ok := d.setting("globalknownhostsfile"); ok {
		g.line("globalknownhostsfile", v...)
	} else {
		g.line("globalknownhostsfile", noneIfEmpty(d.GlobalKnownHostsFiles)...)
	}
	if v, ok := d.setting("userknownhostsfile"); ok {
		g.line("userknownhostsfile", v...)
	} else {
		g.line("userknownhostsfile", noneIfEmpty(d.UserKnownHostsFiles)...)
	}
	g.unused("revokedhostkeys")
	g.lines("sendenv", d.SendEnv)
	g.lines("setenv", d.SetEnv)
	g.unused("logverbose", "channeltimeout", "permitremoteopen", "addkeystoagent", "forwardagent")

	// Special cases.
	if d.ConnectTimeout > 0 {
		g.line("connecttimeout", formatSeconds(d.ConnectTimeout))
	} else {
		g.line("connecttimeout", "none")
	}
	g.unused("tunneldevice", "canonicalizepermittedcnames")
	g.line("controlpersist", gPersist(d.ControlPersist))
	g.unused("escapechar", "ipqos", "rekeylimit", "streamlocalbindmask", "syslogfacility")
	if v, ok := d.setting("proxyjump"); ok {
		g.line("proxyjump", v...)
	} else if v, ok := d.setting("proxycommand"); ok {
		g.line("proxycommand", v...)
	} else if d.ProxyCommand != "" {
		g.line("proxycommand", d.ProxyCommand)
	}

	_, err := io.WriteString(w, g.b.String())
	return err
}

type gWriter struct {
	d Destination
	b strings.Builder
}

func (g *gWriter) line(key string, values ...string) {
	g.b.WriteString(key)
	for _, v := range values {
		g.b.WriteByte(' ')
		g.b.WriteString(v)
	}
	g.b.WriteByte('\n')
}

func (g *gWriter) lines(key string, values []string) {
	for _, v := range values {
		g.line(key, v)
	}
}

// unused writes the options gitssh does not act on that were set.
func (g *gWriter) unused(keys ...string) {
	for _, key := range keys {
		for _, s := range g.d.settings {
			if s.key == key {
				vals := s.values
				if gTrueFalse[key] && len(vals) == 1 {
					vals = []string{trueFalse(vals[0])}
				}
				g.line(key, vals...)
			}
		}
	}
}

// setting returns the first recorded setting for key.
func (d Destination) setting(key string) ([]string, bool) {
	var out []string
	found := false
	for _, s := range d.settings {
		if s.key == key {
			out = append(out, s.values...)
			found = true
		}
	}
	return out, found
}

// gTrueFalse are the options ssh -G writes as true/false rather than
// yes/no.
var gTrueFalse = map[string]bool{
	"canonicalizehostname": true, "tunnel": true, "verifyhostkeydns": true,
	"updatehostkeys": true, "addkeystoagent": true, "warnweakcrypto": true,
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func trueFalse(v string) string {
	switch v {
	case "yes":
		return "true"
	case "no":
		return "false"
	}
	return v
}

func noneIfEmpty(files []string) []string {
	if len(files) == 0 {
		return []string{"none"}
	}
	return files
}

// gLogLevel writes DEBUG1 as "DEBUG", as OpenSSH's log_level_name does.
func gLogLevel(l string) string {
	if l == "DEBUG1" {
		return "DEBUG"
	}
	return l
}

func gPersist(d time.Duration) string {
	if d == 0 {
		return "yes"
	}
	return formatSeconds(d)
}
