package config

import (
	"errors"
	"strings"
)

// This file splits configuration lines the way OpenSSH's readconf.c does
// (strdelim for the keyword, argv_split for the arguments), so that quoting,
// "Key=Value", "Key = Value" and trailing comments mean the same thing to
// gitssh as to ssh.

const whitespace = " \t\r\n"

// A line is one configuration line, split.
type line struct {
	keyword string   // as written (the caller lowercases it for lookup)
	rest    string   // the text after the keyword and its separator, for ProxyCommand-like options that take the raw line
	args    []string // rest split into words: quotes removed, trailing comment dropped
}

// errInvalidQuotes is argv_split's failure, reported as OpenSSH does.
var errInvalidQuotes = errors.New("invalid quotes")

// splitLine splits one line of a configuration file or one -o argument. It
// returns ok == false for blank and comment lines.
func splitLine(text string) (l line, ok bool, err error) {
	text = strings.TrimRight(text, whitespace+"\f")
	s := strings.TrimLeft(text, whitespace)
	if s == "" || s[0] == '#' {
		return line{}, false, nil
	}
	kw, rest, found := strdelim(s)
	if !found {
		// OpenSSH silently ignores a keyword with an unmatched quote.
		return line{}, false, nil
	}
	if kw == "" || kw[0] == '#' {
		return line{}, false, nil
	}
	rest = strings.TrimLeft(rest, whitespace)
	if rest == "" {
		return line{keyword: kw}, false, &lineError{msg: `no argument after keyword "` + strings.ToLower(kw) + `"`}
	}
	args, err := argvSplit(rest, true)
	if err != nil {
		return line{keyword: kw}, false, &lineError{msg: err.Error()}
	}
	return line{keyword: kw, rest: rest, args: args}, true, nil
}

// strdelim returns the first token of s and what follows it. The token ends
// at whitespace, at a double quote (a quoted part is taken up to the next
// quote) or at one '='; whitespace after the token and at most one '='
// (if the token did not end at one) are skipped. found is false when a quote
// is not closed.
func strdelim(s string) (tok, rest string, found bool) {
	i := strings.IndexAny(s, whitespace+`"=`)
	if i < 0 {
		return s, "", true
	}
	if s[i] == '"' {
		t := s[:i] + s[i+1:]
		j := strings.IndexByte(t[i:], '"')
		if j < 0 {
			return "", "", false
		}
		j += i
		return t[:j], strings.TrimLeft(t[j+1:], whitespace), true
	}
	sawEquals := s[i] == '='
	tok, rest = s[:i], strings.TrimLeft(s[i+1:], whitespace)
	if !sawEquals && strings.HasPrefix(rest, "=") {
		rest = strings.TrimLeft(rest[1:], whitespace)
	}
	return tok, rest, true
}

// argvSplit splits s into words like OpenSSH's argv_split: words are
// separated by spaces and tabs; single or double quotes group (and are
// removed); a backslash escapes a quote, a backslash, or (outside quotes) a
// space; with terminateOnComment, a word starting with '#' ends the line.
func argvSplit(s string, terminateOnComment bool) ([]string, error) {
	var args []string
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' || s[i] == '\t' {
			continue
		}
		if terminateOnComment && s[i] == '#' {
			break
		}
		var arg strings.Builder
		var quote byte
		for ; i < len(s); i++ {
			c := s[i]
			switch {
			case c == '\\' && i+1 < len(s) && (s[i+1] == '\'' || s[i+1] == '"' || s[i+1] == '\\' || (quote == 0 && s[i+1] == ' ')):
				i++
				arg.WriteByte(s[i])
				continue
			case quote == 0 && (c == ' ' || c == '\t'):
			case quote == 0 && (c == '"' || c == '\''):
				quote = c
				continue
			case quote != 0 && c == quote:
				quote = 0
				continue
			default:
				arg.WriteByte(c)
				continue
			}
			break // an unquoted space or tab ends the word
		}
		if quote != 0 {
			return nil, errInvalidQuotes
		}
		args = append(args, arg.String())
	}
	return args, nil
}

// lineError is a problem with one line. It carries OpenSSH's message without
// the "file line N: " prefix, which the evaluator adds.
type lineError struct {
	msg string
	// bad marks OpenSSH's "Bad configuration option" (unknown keyword),
	// which OpenSSH formats as "file: line N: ..." (with a colon).
	bad     bool
	keyword string // the keyword as written, for bad
}

func (e *lineError) Error() string { return e.msg }
