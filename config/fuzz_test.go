package config

import (
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
)

// fuzzMaxTime is how long one fuzz input may take. It bounds runaway work
// (the bounds of bounds.go), it is not a performance assertion: bounded
// inputs take milliseconds (the largest seed about 250 ms under -race on a
// loaded 2-core machine), the unbounded exponential include took 35 s.
const fuzzMaxTime = 2 * time.Second

// fuzzEnv is the local side for fuzzing: files live in a memFS.
var fuzzEnv = Env{
	Home:         "/home/u",
	LocalUser:    "u",
	LocalHost:    "box.example.org",
	UID:          1000,
	SystemConfig: "/etc/ssh/ssh_config",
	Getenv: func(k string) string {
		if k == "HOME" || k == "X" {
			return "/home/u"
		}
		return ""
	},
}

// FuzzResolve resolves a destination against a fuzzed configuration file
// (also reachable as an included file and as the system file). Resolve must
// not panic, and what it returns must be usable.
func FuzzResolve(f *testing.F) {
	f.Add("Host *\n  User git\n", "example.com")
	f.Add("Include conf.d/*\nMatch final all\n  Port 2\n", "ssh://u@[::1]:22")
	f.Add("Host a\n  ProxyJump b,c:22\nHost b\n  ProxyJump a\n", "a")
	f.Add("IdentityFile \"~/My Keys/%h\"\nProxyCommand ssh -W %h:%p gw\n", "x@h")
	f.Add(exponentialInclude(200), "h")
	f.Fuzz(func(t *testing.T, cfg, destination string) {
		fsys := memFS{
			"/home/u/.ssh/config":          cfg,
			"/home/u/.ssh/conf.d/included": cfg,
			"/etc/ssh/ssh_config":          cfg,
		}
		start := time.Now()
		d, err := resolver{fs: fsys, budget: new(budget)}.resolve(Request{Destination: destination, Verbose: 1}, fuzzEnv, hopContext{})
		if took := time.Since(start); took > fuzzMaxTime {
			t.Fatalf("Resolve(%q) took %v (more than %v): unbounded work", destination, took, fuzzMaxTime)
		}
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Resolve(%q) error %v is %T, want *Error", destination, err, err)
			}
			return
		}
		if d.HostName == "" || d.Port < 1 || d.Port > 65535 {
			t.Fatalf("Resolve(%q) = hostname %q port %d", destination, d.HostName, d.Port)
		}
		if err := d.WriteG(io.Discard); err != nil {
			t.Fatal(err)
		}
		_ = d.Key()
		_ = d.Environment([]string{"LANG=C", "GIT_PROTOCOL=version=2"})
	})
}

// FuzzParseLine runs one fuzzed line through the tokenizer, the keyword
// table and the evaluator, as a -o option and as a file line.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		"Host *.example.com !secret.example.com",
		"Match final host=\"a,b\" !exec 'test -f x'",
		`SetEnv A="x y" B='z'`,
		"ProxyJump u@[::1]:22,ssh://h",
		"IdentityFile=~/.ssh/id_%h # comment",
		"ControlPersist 1h30m",
		"Include \"conf.d/*.conf\" ~/x",
		`User a\ b\"c\\`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		l, ok, err := splitLine(text)
		if ok {
			if err != nil {
				t.Fatalf("splitLine(%q) = ok and error %v", text, err)
			}
			if l.keyword == "" {
				t.Fatalf("splitLine(%q) = empty keyword", text)
			}
			if kw, known := lookupKeyword(strings.ToLower(l.keyword)); known {
				_, _ = kw.parseValue(l, fuzzEnv.Getenv)
			}
		}
		start := time.Now()
		e := &evaluator{fs: memFS{"/home/u/.ssh/x": text}, budget: new(budget), env: fuzzEnv, opts: newOptions(), notes: &notes{}, alias: "h", host: "h"}
		_ = e.commandLine(text)
		active := true
		_ = e.processLine(text, source{file: "f", line: 1}, fileFlags{user: true}, &active, 0, false)
		if took := time.Since(start); took > fuzzMaxTime {
			t.Fatalf("line %q took %v (more than %v): unbounded work", text, took, fuzzMaxTime)
		}
	})
}

// FuzzMatchPattern checks matchPattern against the same glob written as a
// regular expression ('*' any bytes, '?' one byte).
func FuzzMatchPattern(f *testing.F) {
	for _, s := range [][2]string{
		{"git.example.com", "*.example.com"},
		{"aaaaaaaaaaaaaaaaaaab", "*a*a*a*a*a*b"},
		{"abc", "a?c"},
		{"ab", "a*?*b"},
		{"", "*"},
		{"x", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, s, pattern string) {
		if len(s) > 256 || len(pattern) > 64 {
			return
		}
		var re strings.Builder
		re.WriteString(`(?s)\A`)
		for _, c := range []byte(pattern) {
			switch c {
			case '*':
				re.WriteString(`[\x00-\xff]*`)
			case '?':
				re.WriteString(`[\x00-\xff]`)
			default:
				re.WriteString(regexp.QuoteMeta(string([]byte{c})))
			}
		}
		re.WriteString(`\z`)
		// Match bytes, not runes: map each byte to a rune of its own.
		rs := make([]rune, len(s))
		for i := range len(s) {
			rs[i] = rune(s[i])
		}
		want := regexp.MustCompile(latin1(re.String())).MatchString(string(rs))
		if got := matchPattern(s, pattern); got != want {
			t.Fatalf("matchPattern(%q, %q) = %v, want %v", s, pattern, got, want)
		}
	})
}

// latin1 rewrites a pattern built from bytes so that each byte above 0x7f
// stands for the rune of the same value.
func latin1(p string) string {
	rs := make([]rune, 0, len(p))
	for i := range len(p) {
		rs = append(rs, rune(p[i]))
	}
	return string(rs)
}
