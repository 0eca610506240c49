package config

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// This file is the configuration-file evaluator: it reads files line by
// line, follows Host and Match blocks and Include directives, and records
// the values that apply to one destination. It is written for gitssh rather
// than built on kevinburke/ssh_config, whose parser gives up on a whole file
// at the first line it does not understand (Match final, Match exec, ...)
// and resolves Include against the process's real home directory.

// fileSystem is how the evaluator reads files: the real one in Resolve, a
// map in tests and fuzzing.
type fileSystem interface {
	ReadFile(name string) ([]byte, error)
	Glob(pattern string) ([]string, error)
}

type osFS struct{}

func (osFS) ReadFile(name string) ([]byte, error)  { return os.ReadFile(name) }
func (osFS) Glob(pattern string) ([]string, error) { return filepath.Glob(pattern) }

// fileFlags describe how a file is read.
type fileFlags struct {
	// user is set for the user's files (and -F): a relative Include is
	// in ~/.ssh rather than the system configuration directory, and "~"
	// is allowed.
	user bool
	// neverMatch is set for files included from a block that does not
	// apply: OpenSSH reads them but none of their blocks applies.
	neverMatch bool
}

// evaluator reads configuration for one destination, one pass.
type evaluator struct {
	fs    fileSystem
	env   Env
	opts  *options
	notes *notes

	alias string // the host as given: Host patterns in the first pass, Match originalhost, %n
	// host is what Host patterns see: the alias in the first pass, the
	// final host name in the final pass (as in OpenSSH).
	host  string
	final bool

	wantFinal bool    // a "Match final" was seen
	budget    *budget // the work done so far, shared by all evaluators of one Resolve
}

// refuseError is RefuseConnection in a block that applies.
type refuseError struct{ msg string }

func (e *refuseError) Error() string { return e.msg }

// fatal reports whether an error reading files ends the Resolve rather
// than becoming a note: RefuseConnection, or too much work.
func fatal(err error) bool {
	return errors.As(err, new(*refuseError)) || errors.As(err, new(*LimitError))
}

// readConfigs reads -F's file, or the user's and the system's files.
func (e *evaluator) readConfigs(configFile string) error {
	active := true
	if configFile != "" {
		if configFile == "none" {
			return nil
		}
		err := e.readFile(configFile, fileFlags{user: true}, &active, 0)
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return &Error{Msg: fmt.Sprintf("Can't open user config file %s: %v", configFile, pe.Err), Err: err}
		}
		return err
	}
	if path := e.userConfig(); path != "" {
		if err := e.readFile(path, fileFlags{user: true}, &active, 0); err != nil && !errors.Is(err, fs.ErrNotExist) {
			if fatal(err) {
				return err
			}
			e.notes.add("%s: %v", path, err)
		}
	}
	active = true
	path := e.systemConfig()
	if err := e.readFile(path, fileFlags{}, &active, 0); err != nil && !errors.Is(err, fs.ErrNotExist) {
		if fatal(err) {
			return err
		}
		e.notes.add("%s: %v", path, err)
	}
	return nil
}

func (e *evaluator) userConfig() string {
	if e.env.UserConfig != "" {
		return e.env.UserConfig
	}
	if e.env.Home == "" {
		return ""
	}
	return filepath.Join(e.env.Home, ".ssh", "config")
}

func (e *evaluator) systemConfig() string {
	if e.env.SystemConfig != "" {
		return e.env.SystemConfig
	}
	return "/etc/ssh/ssh_config"
}

// readFile evaluates one file. Problems with its lines become notes; only
// an unreadable file and RefuseConnection are returned.
func (e *evaluator) readFile(path string, flags fileFlags, active *bool, depth int) error {
	if depth > maxIncludeDepth {
		return errors.New("Too many recursive configuration includes")
	}
	e.budget.files++
	if e.budget.files > maxFileReads {
		return fmt.Errorf("more than %d configuration files read", maxFileReads)
	}
	data, err := e.fs.ReadFile(path)
	if err != nil {
		return err
	}
	if err := e.budget.charge(fileCost + len(data)); err != nil {
		return err
	}
	for i, text := range strings.Split(string(data), "\n") {
		src := source{file: path, line: i + 1}
		err := e.processLine(text, src, flags, active, depth, false)
		var le *lineError
		switch {
		case err == nil:
		case errors.As(err, &le) && le.bad:
			e.notes.add("%s: unsupported option %q", src, le.keyword)
		case errors.As(err, &le):
			e.notes.add("%s: %s", src, le.msg)
		default:
			return err
		}
	}
	return nil
}

// commandLine evaluates one -o option. Its errors are OpenSSH's.
func (e *evaluator) commandLine(opt string) error {
	active := true
	err := e.processLine(opt, commandLine, fileFlags{user: true}, &active, 0, true)
	var le *lineError
	if errors.As(err, &le) {
		if le.bad {
			return &Error{Msg: fmt.Sprintf("%s: line %d: %s", commandLine.file, commandLine.line, le.msg)}
		}
		return &Error{Msg: fmt.Sprintf("%s: %s", commandLine, le.msg)}
	}
	return err
}

// processLine evaluates one line. It returns a *lineError for a line that
// is skipped (and that is worth reporting), a *refuseError for
// RefuseConnection.
func (e *evaluator) processLine(text string, src source, flags fileFlags, active *bool, depth int, cmdline bool) error {
	if err := e.budget.charge(lineCost + byteCost*len(text)); err != nil {
		return err
	}
	l, ok, err := splitLine(text)
	lower := strings.ToLower(l.keyword)
	// Pattern matching costs at most the line's length times the length of
	// what it is matched against: the host for Host, the longest of the
	// names Match looks at.
	if err := e.budget.charge(len(text) * (e.patternSubject(lower) + 1)); err != nil {
		return err
	}
	if err != nil {
		header := lower == "host" || lower == "match"
		if header && !cmdline {
			// A broken block header: skip the block rather than let its
			// lines apply to the previous one.
			*active = false
		}
		if flags.neverMatch || !header && !*active {
			return nil
		}
		return err
	}
	if !ok {
		return nil
	}
	kw, known := lookupKeyword(lower)
	if !known {
		ign := e.opts.first("ignoreunknown")
		if err := e.budget.charge(len(lower) * len(ign)); err != nil {
			return err
		}
		if ign != "" && matchPatternList(lower, ign, true) == 1 {
			return nil
		}
		if !*active {
			return nil
		}
		return &lineError{msg: "Bad configuration option: " + lower, bad: true, keyword: l.keyword}
	}

	switch kw.kind {
	case kindHost:
		return e.hostLine(l, flags, active, cmdline)
	case kindMatch:
		return e.matchLine(l, flags, active, cmdline)
	case kindInclude:
		if cmdline {
			return &lineError{msg: "Include directive not supported as a command-line option"}
		}
		return e.include(l.args, src, flags, active, depth)
	}

	if !*active {
		// OpenSSH checks the values of lines in blocks that do not apply
		// too; gitssh only reports the lines it would have used.
		return nil
	}
	vals, err := kw.parseValue(l, e.env.Getenv)
	if err != nil {
		return err
	}
	switch kw.kind {
	case kindRefuse:
		return &refuseError{msg: fmt.Sprintf("%s: RefuseConnection: %s", src, vals[0])}
	case kindIgnored:
		return nil
	case kindDeprecated:
		return &lineError{msg: fmt.Sprintf("Deprecated option %q", lower)}
	case kindUnsupported:
		return &lineError{msg: fmt.Sprintf("Unsupported option %q", lower)}
	case kindTime:
		if vals[0] == "none" {
			// OpenSSH stores "none" as "unset": a later line may set it.
			return nil
		}
	}
	e.opts.apply(kw, vals, src)
	return nil
}

// patternSubject is the length of the longest name the patterns of a Host
// or Match line are matched against, or -1 for other lines: matching costs
// at most the line's length times it.
func (e *evaluator) patternSubject(lower string) int {
	switch lower {
	case "host":
		return len(e.host)
	case "match":
		return max(len(e.host), len(e.alias), len(e.opts.first("user")), len(e.env.LocalUser), len(e.opts.first("tag")), len(e.opts.first("hostname")))
	}
	return -1
}

// hostLine evaluates a Host line: whether the block it opens applies.
func (e *evaluator) hostLine(l line, flags fileFlags, active *bool, cmdline bool) error {
	if cmdline {
		return &lineError{msg: "Host directive not supported as a command-line option"}
	}
	if flags.neverMatch {
		*active = false
		return nil
	}
	m, err := hostBlockMatches(e.host, l.args)
	*active = m
	if err != nil {
		return &lineError{msg: err.Error()}
	}
	return nil
}

// matchLine evaluates a Match line: whether the block it opens applies,
// and whether it asks for a final pass.
func (e *evaluator) matchLine(l line, flags fileFlags, active *bool, cmdline bool) error {
	if cmdline {
		return &lineError{msg: "Match directive not supported as a command-line option"}
	}
	out, err := evalMatch(l.args, e.matchContext())
	if err != nil {
		*active = false
		if flags.neverMatch {
			return nil
		}
		return &lineError{msg: "Bad Match condition: " + err.Error()}
	}
	e.wantFinal = e.wantFinal || out.wantFinal
	*active = out.matched && !flags.neverMatch
	if len(out.unevaluated) > 0 && !flags.neverMatch {
		return &lineError{msg: fmt.Sprintf("Match %s not evaluated by gitssh: block skipped", strings.Join(out.unevaluated, " "))}
	}
	return nil
}

// include evaluates an Include line: each argument is a glob, relative to
// ~/.ssh for user files and to the system file's directory for system
// files; the included files are read in the context of the current block.
func (e *evaluator) include(args []string, src source, flags fileFlags, active *bool, depth int) error {
	quiet := flags.neverMatch || !*active
	note := func(format string, a ...any) {
		if !quiet {
			e.notes.add("%s: %s", src, fmt.Sprintf(format, a...))
		}
	}
	for _, arg := range args {
		if arg == "" {
			note("keyword include empty argument")
			return nil
		}
		p, err := e.partialExpander().expand(arg, tokensDefault, true)
		if err != nil {
			note("Unable to expand user config file '%s': %v", arg, err)
			continue
		}
		if strings.HasPrefix(p, "~") && !flags.user {
			note("bad include path %s.", p)
			return nil
		}
		if !filepath.IsAbs(p) && !strings.HasPrefix(p, "~") {
			if flags.user {
				p = "~/.ssh/" + p
			} else {
				p = filepath.Join(filepath.Dir(e.systemConfig()), p)
			}
		}
		p, ok := expandTilde(p, e.env.Home, e.env.LocalUser)
		if !ok {
			note("include %s: ~user is not supported", p)
			continue
		}
		matches, err := e.fs.Glob(p)
		if err != nil {
			note("glob failed for %s.", p)
			return nil
		}
		if len(matches) == 0 {
			note("include %s matched no files", p)
			continue
		}
		outer := *active
		for _, m := range matches {
			err := e.readFile(m, fileFlags{user: flags.user, neverMatch: flags.neverMatch || !outer}, active, depth+1)
			// Match blocks in an included file do not change the
			// including file's state.
			*active = outer
			switch {
			case err == nil || errors.Is(err, fs.ErrNotExist):
			case fatal(err):
				return err
			case errors.As(err, new(*fs.PathError)):
				note("Can't open user config file %s: %v", m, err)
			default:
				note("%v", err)
			}
		}
	}
	return nil
}

// matchHost is the host name Match host sees: in the first pass, HostName
// (with %h expanded) if set so far, else the alias; in the final pass, the
// final host name.
func (e *evaluator) matchHost() string {
	if e.final {
		return e.host
	}
	if hn, ok := e.opts.get("hostname"); ok {
		x := expander{tokens: tokenValues{host: e.alias}}
		if h, err := x.expand(hn.args[0], tokensHostname, false); err == nil {
			return h
		}
		return hn.args[0]
	}
	return e.alias
}

func (e *evaluator) matchContext() matchContext {
	return matchContext{
		host:         e.matchHost(),
		originalHost: e.alias,
		user:         cmp.Or(e.opts.first("user"), e.env.LocalUser),
		localUser:    e.env.LocalUser,
		tag:          e.opts.first("tag"),
		final:        e.final,
	}
}

// partialExpander expands tokens with the configuration read so far, as
// OpenSSH does for Include paths and Match exec.
func (e *evaluator) partialExpander() expander {
	host := e.matchHost()
	t := tokenValues{
		localHost: e.env.LocalHost,
		home:      e.env.Home,
		localUser: e.env.LocalUser,
		uid:       itoa(e.env.UID),
		host:      host,
		alias:     e.alias,
		port:      cmp.Or(e.opts.first("port"), "22"),
		user:      cmp.Or(e.opts.first("user"), e.env.LocalUser),
		keyAlias:  cmp.Or(e.opts.first("hostkeyalias"), host),
		jumpHost:  lastJumpHost(e.opts.first("proxyjump")),
	}
	return expander{tokens: t, getenv: e.env.Getenv}
}

// lastJumpHost is OpenSSH's jump_host: the host of the last hop of a
// ProxyJump list ("" for none), which %j and %C use.
func lastJumpHost(spec string) string {
	if spec == "" || strings.EqualFold(spec, "none") {
		return ""
	}
	hops, err := parseJumpSpec(spec)
	if err != nil || len(hops) == 0 {
		return ""
	}
	return hops[len(hops)-1].host
}

// notes collects Destination.Notes without duplicates (the final pass reads
// the same lines again).
type notes struct {
	list []string
	seen map[string]bool
}

func (n *notes) add(format string, a ...any) {
	s := fmt.Sprintf(format, a...)
	if n.seen == nil {
		n.seen = map[string]bool{}
	}
	if !n.seen[s] {
		n.seen[s] = true
		n.list = append(n.list, s)
	}
}
