package config

import (
	"errors"
	"fmt"
	"strings"
)

// This file decides which Host and Match blocks apply, with OpenSSH's
// pattern semantics (match.c) and Match criteria (readconf.c's
// match_cfg_line).
//
// kevinburke/ssh_config's Pattern is not used: it compiles '?' to ".?"
// (zero or one character, where OpenSSH's '?' is exactly one), and it has
// no pattern lists with negation, which Match needs.

// matchPattern reports whether s matches pattern, where '*' matches any run
// of bytes and '?' exactly one byte, as OpenSSH's match_pattern. It
// backtracks only to the last '*' seen, so it takes at most
// len(s)*len(pattern) steps (usually about len(s)+len(pattern)) and never
// allocates: hostile patterns cannot make it slow, and the evaluator
// charges that product to its work budget.
func matchPattern(s, pattern string) bool {
	si, pi := 0, 0
	star, resume := -1, 0 // the last '*' seen, and where in s it took over
	for si < len(s) {
		switch {
		case pi < len(pattern) && pattern[pi] == '*':
			star, resume = pi, si
			pi++
		case pi < len(pattern) && (pattern[pi] == '?' || pattern[pi] == s[si]):
			si++
			pi++
		case star >= 0:
			// Let the last '*' take one more byte and try again from there.
			resume++
			si, pi = resume, star+1
		default:
			return false
		}
	}
	for pi < len(pattern) && pattern[pi] == '*' {
		pi++
	}
	return pi == len(pattern)
}

// matchPatternList matches s against a comma-separated list of patterns,
// each possibly negated with '!'. It returns -1 if a negated pattern
// matches, 1 if a plain one does, 0 otherwise (OpenSSH's
// match_pattern_list). With lower, the patterns are lowercased first.
func matchPatternList(s, list string, lower bool) int {
	const maxSub = 1023 // OpenSSH's subpattern buffer
	positive := 0
	for list != "" {
		negated := false
		if list[0] == '!' {
			negated = true
			list = list[1:]
		}
		sub, rest, _ := strings.Cut(list, ",")
		list = rest
		if len(sub) >= maxSub {
			return 0
		}
		if lower {
			sub = strings.ToLower(sub)
		}
		if matchPattern(s, sub) {
			if negated {
				return -1
			}
			positive = 1
		}
	}
	return positive
}

// matchHostname matches a host name against a pattern list, ignoring case
// (OpenSSH's match_hostname).
func matchHostname(host, list string) bool {
	return matchPatternList(strings.ToLower(host), list, true) == 1
}

// hostBlockMatches evaluates the patterns of a Host line against host: the
// block applies if one pattern matches and no negated one does.
func hostBlockMatches(host string, patterns []string) (bool, error) {
	active := false
	for _, p := range patterns {
		if p == "" {
			return false, errors.New("keyword host empty argument")
		}
		negated := p[0] == '!'
		if negated {
			p = p[1:]
		}
		if matchPattern(host, p) {
			if negated {
				return false, nil
			}
			active = true
		}
	}
	return active, nil
}

// matchContext is what Match criteria are tested against.
type matchContext struct {
	host         string // the target host name (HostName applied)
	originalHost string // the host as given on the command line
	user         string // the remote user so far
	localUser    string
	tag          string
	final        bool // this is the final pass
}

// matchOutcome is the result of one Match line.
type matchOutcome struct {
	matched bool
	// wantFinal is set by a non-negated "final": OpenSSH then reads the
	// files a second time.
	wantFinal bool
	// unevaluated lists criteria gitssh cannot evaluate (exec, localnetwork,
	// ...) that would have decided the result. The block is then skipped.
	unevaluated []string
}

// evalMatch evaluates the criteria of a Match line, as OpenSSH's
// match_cfg_line does. Criteria gitssh cannot evaluate (it runs no
// commands and reads no network interfaces) make the line not match.
func evalMatch(args []string, mc matchContext) (matchOutcome, error) {
	var out matchOutcome
	result := true
	attributes := 0
	for i := 0; i < len(args); i++ {
		oattrib := args[i]
		attrib := oattrib
		negate := strings.HasPrefix(attrib, "!")
		if negate {
			attrib = attrib[1:]
		}
		if strings.EqualFold(attrib, "all") {
			if attributes > 1 || i+1 < len(args) && args[i+1] != "" {
				return matchOutcome{}, fmt.Errorf("'%s' cannot be combined with other Match attributes", oattrib)
			}
			if negate {
				result = false
			}
			return out.finish(result), nil
		}
		attributes++
		if strings.EqualFold(attrib, "canonical") || strings.EqualFold(attrib, "final") {
			if strings.EqualFold(attrib, "final") && !negate {
				out.wantFinal = true
			}
			// gitssh never canonicalizes host names, so "canonical" holds
			// exactly when "final" does: in the final pass.
			if mc.final == negate {
				result = false
			}
			continue
		}
		var arg string
		if name, value, ok := strings.Cut(attrib, "="); ok && isMatchCriterion(name) {
			attrib, arg = name, value
		} else if i+1 < len(args) {
			i++
			arg = args[i]
		} else {
			return matchOutcome{}, fmt.Errorf("missing argument for Match '%s'", oattrib)
		}
		if arg == "" && !strings.EqualFold(attrib, "tagged") && !strings.EqualFold(attrib, "command") {
			return matchOutcome{}, fmt.Errorf("Missing Match criteria for %s", attrib)
		}
		var r bool
		switch strings.ToLower(attrib) {
		case "host":
			r = matchHostname(mc.host, arg)
		case "originalhost":
			r = matchHostname(mc.originalHost, arg)
		case "user":
			r = matchPatternList(mc.user, arg, false) == 1
		case "localuser":
			r = matchPatternList(mc.localUser, arg, false) == 1
		case "tagged":
			if mc.tag == "" {
				r = arg == ""
			} else {
				r = matchPatternList(mc.tag, arg, false) == 1
			}
		case "exec", "localnetwork", "command", "sessiontype", "version":
			// exec would run a command; localnetwork needs the interface
			// addresses; command and sessiontype need the remote command,
			// which configuration does not see; version is OpenSSH's own.
			out.unevaluated = append(out.unevaluated, fmt.Sprintf("%s %q", oattrib, arg))
			continue
		default:
			return matchOutcome{}, fmt.Errorf("Unsupported Match attribute %s", attrib)
		}
		if r == negate {
			result = false
		}
	}
	if attributes == 0 {
		return matchOutcome{}, errors.New("One or more attributes required for Match")
	}
	return out.finish(result), nil
}

// finish sets the outcome from the result of the criteria gitssh could
// evaluate.
func (out matchOutcome) finish(result bool) matchOutcome {
	out.matched = result && len(out.unevaluated) == 0
	if !result {
		// Another criterion failed: the unevaluated ones did not matter.
		out.unevaluated = nil
	}
	return out
}

func isMatchCriterion(name string) bool {
	switch strings.ToLower(name) {
	case "host", "originalhost", "user", "localuser", "localnetwork", "version", "tagged", "command", "exec":
		return true
	}
	return false
}
