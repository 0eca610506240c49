package config

import (
	"io"
	"strings"
	"testing"
)

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
	f.Fuzz(func(t *testing.T, cfg, destination string) {
		fsys := memFS{
			"/home/u/.ssh/config":          cfg,
			"/home/u/.ssh/conf.d/included": cfg,
			"/etc/ssh/ssh_config":          cfg,
		}
		d, err := resolver{fs: fsys, reads: new(int)}.resolve(Request{Destination: destination, Verbose: 1}, fuzzEnv, hopContext{})
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
		e := &evaluator{fs: memFS{"/home/u/.ssh/x": text}, reads: new(int), env: fuzzEnv, opts: newOptions(), notes: &notes{}, alias: "h", host: "h"}
		_ = e.commandLine(text)
		active := true
		_ = e.processLine(text, source{file: "f", line: 1}, fileFlags{user: true}, &active, 0, false)
	})
}
