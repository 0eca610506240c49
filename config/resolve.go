package config

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// Resolve computes the configuration for one destination, as ssh does:
// command-line flags first, then -o options, then the destination's user
// and port, then the configuration files (the first value obtained for an
// option wins), then defaults. It reads the configuration files and nothing
// else.
//
// Lines of configuration files that gitssh cannot use are skipped and
// reported in Notes; errors are for the command line, for values that
// cannot be expanded, for a -F file that cannot be read, for
// RefuseConnection and for ProxyJump loops. They are of type *Error.
func Resolve(req Request, env Env) (Destination, error) {
	return resolver{fs: osFS{}, budget: new(budget)}.resolve(req, env, hopContext{})
}

// resolver resolves destinations with one file system.
type resolver struct {
	fs     fileSystem
	budget *budget // the work done so far; see bounds.go
}

// hopContext is set when a ProxyJump hop is being resolved.
type hopContext struct {
	// chain lists the destinations whose ProxyJump led here, outermost
	// first, and the hops before this one in the same list.
	chain []chainLink
	// through is the part of the ProxyJump list before this hop. Like
	// "ssh -J through hop", it overrides the hop's own ProxyJump and
	// ProxyCommand: the hop is reached through the previous one.
	through string
}

type chainLink struct {
	key   string // user@host:port
	alias string
}

func (r resolver) resolve(req Request, env Env, hc hopContext) (Destination, error) {
	dest, err := parseDestination(req.Destination)
	if err != nil {
		return Destination{}, err
	}
	opts := newOptions()
	notes := &notes{}
	userOnCmdline, err := applyFlags(req, env, hc, opts)
	if err != nil {
		return Destination{}, err
	}

	e := &evaluator{fs: r.fs, budget: r.budget, env: env, opts: opts, notes: notes, alias: dest.host, host: dest.host}
	for _, o := range req.Options {
		if err := e.commandLine(o); err != nil {
			return Destination{}, asError(err)
		}
	}

	// The destination's user and port count as command-line values, but
	// come after -o (ssh reads them after the options).
	if _, set := opts.get("user"); !set && dest.user != "" {
		opts.apply(mustKeyword("user"), []string{dest.user}, commandLine)
		userOnCmdline = true
	}
	if _, set := opts.get("port"); !set && dest.port != 0 {
		opts.apply(mustKeyword("port"), []string{itoa(dest.port)}, commandLine)
	}
	if userOnCmdline && !validRemoteUser(opts.first("user")) {
		return Destination{}, &Error{Msg: "remote username contains invalid characters"}
	}

	if err := e.readConfigs(req.ConfigFile); err != nil {
		return Destination{}, asError(err)
	}
	hostname, err := finalHostname(opts, dest.host)
	if err != nil {
		return Destination{}, err
	}
	if e.wantFinal {
		// "Match final": read everything again, as OpenSSH does, with
		// Host and Match host now seeing the final host name and the
		// values of the first pass still in place.
		final := &evaluator{fs: r.fs, budget: r.budget, env: env, opts: opts, notes: notes, alias: dest.host, host: hostname, final: true}
		if err := final.readConfigs(req.ConfigFile); err != nil {
			return Destination{}, asError(err)
		}
	}

	b := builder{env: env, opts: opts, notes: notes, alias: dest.host, hostname: hostname, userOnCmdline: userOnCmdline}
	d, jumpSpec, err := b.build()
	if err != nil {
		return Destination{}, err
	}

	self := chainLink{key: fmt.Sprintf("%s@%s:%d", d.User, d.HostName, d.Port), alias: d.Alias}
	if err := checkJumpLoop(hc.chain, self); err != nil {
		return Destination{}, err
	}
	if jumpSpec != "" && hc.through == "" {
		jumps, jumpNotes, err := r.resolveJumps(jumpSpec, req, env, append(hc.chain[:len(hc.chain):len(hc.chain)], self))
		if err != nil {
			return Destination{}, err
		}
		d.Jumps = jumps
		for _, n := range jumpNotes {
			notes.add("%s", n)
		}
	}
	d.Notes = notes.list
	return d, nil
}

// applyFlags applies ssh's flags (-l, -p, -4/-6, -i, -v/-q) and the hop
// a jump host is reached through. ssh applies them while it reads argv,
// before any configuration, so they win over -o and the files. It reports
// whether the user came from -l.
func applyFlags(req Request, env Env, hc hopContext, opts *options) (userOnCmdline bool, err error) {
	if req.User != "" {
		opts.apply(mustKeyword("user"), []string{req.User}, commandLine)
		userOnCmdline = true
	}
	if req.Port != "" {
		if _, ok := parsePort(req.Port); !ok {
			return false, &Error{Msg: fmt.Sprintf("Bad port '%s'", req.Port)}
		}
		opts.apply(mustKeyword("port"), []string{req.Port}, commandLine)
	}
	switch req.AddressFamily {
	case "":
	case "inet", "inet6":
		opts.apply(mustKeyword("addressfamily"), []string{req.AddressFamily}, commandLine)
	default:
		return false, &Error{Msg: fmt.Sprintf("bad address family %q", req.AddressFamily)}
	}
	for _, id := range req.Identities {
		p, _ := expandTilde(id, env.Home, env.LocalUser)
		opts.apply(mustKeyword("identityfile"), []string{p}, commandLine)
	}
	if lvl := flagLogLevel(req); lvl != "" {
		opts.apply(mustKeyword("loglevel"), []string{lvl}, commandLine)
	}
	if hc.through != "" {
		opts.apply(mustKeyword("proxyjump"), []string{hc.through}, commandLine)
	}
	return userOnCmdline, nil
}

// checkJumpLoop fails when self is already a hop of chain.
func checkJumpLoop(chain []chainLink, self chainLink) error {
	for _, link := range chain {
		if link.key == self.key {
			var path []string
			for _, l := range chain {
				path = append(path, l.alias)
			}
			return &Error{Msg: fmt.Sprintf("ProxyJump loop: %s -> %s", strings.Join(path, " -> "), self.alias)}
		}
	}
	return nil
}

// resolveJumps resolves each hop of a ProxyJump list with the same
// configuration files (not the -o options), as the ssh that OpenSSH starts
// for the first hop does. Later hops are reached through the earlier ones.
func (r resolver) resolveJumps(spec string, req Request, env Env, chain []chainLink) ([]Destination, []string, error) {
	if len(chain) > maxJumpDepth {
		return nil, nil, &Error{Msg: fmt.Sprintf("ProxyJump: more than %d nested jump hosts", maxJumpDepth)}
	}
	hops, err := parseJumpSpec(spec)
	if err != nil {
		return nil, nil, &Error{Msg: fmt.Sprintf("Invalid ProxyJump \"%s\"", spec)}
	}
	r.budget.hops += len(hops)
	if r.budget.hops > maxHopsResolved {
		return nil, nil, &Error{Msg: fmt.Sprintf("ProxyJump: more than %d jump hosts in all", maxHopsResolved), Err: &LimitError{What: "jump hosts", Limit: maxHopsResolved}}
	}
	parts := strings.Split(spec, ",")
	var jumps []Destination
	var notes []string
	for i, hp := range hops {
		hreq := Request{Destination: hp.host, User: hp.user, ConfigFile: req.ConfigFile, Verbose: req.Verbose}
		if hp.port != 0 {
			hreq.Port = itoa(hp.port)
		}
		hc := hopContext{chain: chain, through: strings.Join(parts[:i], ",")}
		for _, prev := range jumps {
			hc.chain = append(hc.chain[:len(hc.chain):len(hc.chain)], chainLink{key: fmt.Sprintf("%s@%s:%d", prev.User, prev.HostName, prev.Port), alias: prev.Alias})
		}
		hd, err := r.resolve(hreq, env, hc)
		if err != nil {
			var ce *Error
			if errors.As(err, &ce) && strings.HasPrefix(ce.Msg, "ProxyJump") {
				return nil, nil, err
			}
			return nil, nil, &Error{Msg: fmt.Sprintf("ProxyJump %s: %v", parts[i], err), Err: err}
		}
		for _, n := range hd.Notes {
			notes = append(notes, fmt.Sprintf("ProxyJump %s: %s", hd.Alias, n))
		}
		jumps = append(jumps, hd)
	}
	return jumps, notes, nil
}

// parseDestination parses "[user@]host" or "ssh://[user@]host[:port]".
func parseDestination(s string) (hostPort, error) {
	hp, isURI, err := parseSSHURI(s)
	if isURI && err != nil {
		return hostPort{}, &Error{Msg: fmt.Sprintf("bad destination %q: %v", s, err)}
	}
	if !isURI {
		host := s
		if i := strings.LastIndexByte(s, '@'); i >= 0 {
			if i == 0 {
				return hostPort{}, &Error{Msg: fmt.Sprintf("bad destination %q: empty user name", s)}
			}
			hp.user, host = s[:i], s[i+1:]
		}
		// OpenSSH keeps the brackets of "[::1]" (and then cannot resolve
		// it); gitssh removes them.
		hp.host = cleanHostname(host)
	}
	if hp.host == "" {
		return hostPort{}, &Error{Msg: fmt.Sprintf("bad destination %q: no host name", s)}
	}
	if !validHostname(hp.host) {
		return hostPort{}, &Error{Msg: "hostname contains invalid characters"}
	}
	return hp, nil
}

// finalHostname applies HostName (with %h, the host as given) and
// lowercases the result unless it is an address, as ssh does.
func finalHostname(opts *options, alias string) (string, error) {
	host := alias
	if v, ok := opts.get("hostname"); ok {
		x := expander{tokens: tokenValues{host: alias}}
		h, err := x.expand(v.args[0], tokensHostname, false)
		if err != nil {
			return "", &Error{Msg: fmt.Sprintf("%s: HostName %s: %v", v.src, v.args[0], err), Err: err}
		}
		host = h
	}
	if net.ParseIP(host) == nil {
		host = strings.ToLower(host)
	}
	return host, nil
}

// flagLogLevel is the log level set by -v and -q. gitssh does not know
// their order on the command line; -v wins.
func flagLogLevel(req Request) string {
	switch {
	case req.Verbose == 1:
		return "DEBUG1"
	case req.Verbose == 2:
		return "DEBUG2"
	case req.Verbose >= 3:
		return "DEBUG3"
	case req.Quiet:
		return "QUIET"
	}
	return ""
}

func mustKeyword(id string) *keyword {
	kw, ok := lookupKeyword(id)
	if !ok {
		panic("config: no keyword " + id)
	}
	return kw
}

// asError makes err an *Error.
func asError(err error) error {
	var ce *Error
	if errors.As(err, &ce) {
		return err
	}
	return &Error{Msg: err.Error(), Err: err}
}
