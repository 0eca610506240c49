package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplitLine(t *testing.T) {
	tests := []struct {
		text    string
		keyword string
		args    []string
		rest    string
	}{
		{"Port 22", "Port", []string{"22"}, "22"},
		{"  port=22", "port", []string{"22"}, "22"},
		{"Port = 22", "Port", []string{"22"}, "22"},
		{"Port= 22", "Port", []string{"22"}, "22"},
		{"Port =22", "Port", []string{"22"}, "22"},
		{"\tUser\tgit\t\r", "User", []string{"git"}, "git"},
		{"IdentityFile \"~/My Keys/id\"", "IdentityFile", []string{"~/My Keys/id"}, `"~/My Keys/id"`},
		{"SetEnv A=\"x y\" B='z w'", "SetEnv", []string{"A=x y", "B=z w"}, `A="x y" B='z w'`},
		{`User a\ b`, "User", []string{"a b"}, `a\ b`},
		{`User a\"b`, "User", []string{`a"b`}, `a\"b`},
		{`User a\xb`, "User", []string{`a\xb`}, `a\xb`},
		{"SendEnv LANG # LC_*", "SendEnv", []string{"LANG"}, "LANG # LC_*"},
		{"SendEnv LANG#x", "SendEnv", []string{"LANG#x"}, "LANG#x"},
		{"ProxyCommand ssh -W %h:%p gw # comment", "ProxyCommand", []string{"ssh", "-W", "%h:%p", "gw"}, "ssh -W %h:%p gw # comment"},
		{`"Host" foo`, "Host", []string{"foo"}, "foo"},
		{"Host \"\"", "Host", []string{""}, `""`},
	}
	for _, tt := range tests {
		l, ok, err := splitLine(tt.text)
		if err != nil || !ok {
			t.Errorf("splitLine(%q) = %v, %v, want a line", tt.text, ok, err)
			continue
		}
		if diff := cmp.Diff(line{keyword: tt.keyword, rest: tt.rest, args: tt.args}, l, cmp.AllowUnexported(line{})); diff != "" {
			t.Errorf("splitLine(%q): (-want +got)\n%s", tt.text, diff)
		}
	}
}

func TestSplitLineSkipsBlankLines(t *testing.T) {
	for _, text := range []string{"", "   ", "\t\r", "# comment", "   # indented comment", "\f", `"unterminated keyword`} {
		if _, ok, err := splitLine(text); ok || err != nil {
			t.Errorf("splitLine(%q) = %v, %v; want a skipped line", text, ok, err)
		}
	}
}

func TestSplitLineErrors(t *testing.T) {
	tests := []struct{ text, want string }{
		{"Port", `no argument after keyword "port"`},
		{"Port   ", `no argument after keyword "port"`},
		{"Port=", `no argument after keyword "port"`},
		{`User "a b`, "invalid quotes"},
		{`User 'a b`, "invalid quotes"},
	}
	for _, tt := range tests {
		_, _, err := splitLine(tt.text)
		if err == nil || err.Error() != tt.want {
			t.Errorf("splitLine(%q) = %v, want %q", tt.text, err, tt.want)
		}
	}
}
