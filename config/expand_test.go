package config

import "testing"

func TestExpand(t *testing.T) {
	x := expander{
		tokens: tokenValues{
			localHost: "laptop.example.org", home: "/home/alice", localUser: "alice", uid: "1000",
			host: "h.example.com", alias: "h", port: "22", user: "git", keyAlias: "h", jumpHost: "gw",
		},
		getenv: func(k string) string {
			return map[string]string{"X": "%h", "DIR": "/d"}[k]
		},
	}
	tests := []struct {
		in     string
		set    tokenSet
		dollar bool
		want   string
	}{
		{"%%", tokensDefault, false, "%"},
		{"%%h", tokensDefault, false, "%h"},
		{"%h:%p", tokensDefault, false, "h.example.com:22"},
		{"%l %L %u %i %d %n %k %j %r", tokensDefault, false, "laptop.example.org laptop alice 1000 /home/alice h h gw git"},
		{"${DIR}/%h", tokensDefault, true, "/d/h.example.com"},
		{"${X}", tokensDefault, true, "%h"}, // expanded text is not expanded again
		{"${X}", tokensDefault, false, "${X}"},
		{"%h", tokensHostname, false, "h.example.com"},
		{"%h %k %n %p %r", tokensProxy, false, "h.example.com h h 22 git"},
		{"no tokens ~", tokensProxy, false, "no tokens ~"},
	}
	for _, tt := range tests {
		got, err := x.expand(tt.in, tt.set, tt.dollar)
		if err != nil || got != tt.want {
			t.Errorf("expand(%q, %d, %v) = %q, %v; want %q", tt.in, tt.set, tt.dollar, got, err, tt.want)
		}
	}

	errs := []struct {
		in     string
		set    tokenSet
		dollar bool
		want   string
	}{
		{"%x", tokensDefault, false, "percent_expand: unknown key %x"},
		{"%p", tokensHostname, false, "percent_expand: unknown key %p"},
		{"%C", tokensNoUser, false, "percent_expand: unknown key %C"},
		{"%d", tokensProxy, false, "percent_expand: unknown key %d"},
		{"abc%", tokensDefault, false, "percent_expand: invalid format"},
		{"${NOPE}", tokensDefault, true, "env var ${NOPE} has no value"},
		{"${}", tokensDefault, true, "zero-length environment variable"},
		{"${DIR", tokensDefault, true, "environment variable 'DIR' missing closing '}'"},
	}
	for _, tt := range errs {
		got, err := x.expand(tt.in, tt.set, tt.dollar)
		if err == nil || err.Error() != tt.want {
			t.Errorf("expand(%q) = %q, %v; want error %q", tt.in, got, err, tt.want)
		}
	}
}

func TestExpandTilde(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"~", "/home/alice/", true},
		{"~/", "/home/alice/", true},
		{"~/.ssh/id", "/home/alice/.ssh/id", true},
		{"~//x", "/home/alice/x", true},
		{"~alice/x", "/home/alice/x", true},
		{"~bob/x", "~bob/x", false},
		{"/abs/~", "/abs/~", true},
		{"rel", "rel", true},
	}
	for _, tt := range tests {
		got, ok := expandTilde(tt.in, "/home/alice", "alice")
		if got != tt.want || ok != tt.ok {
			t.Errorf("expandTilde(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
