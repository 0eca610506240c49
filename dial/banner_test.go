package dial

import "testing"

func TestVisBanner(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain text", "Welcome to git.example.com\n", "Welcome to git.example.com\n"},
		{"kept whitespace", "a\tb\r\nc\n", "a\tb\r\nc\n"},
		{"escape sequence", "\x1b[2J\x1b]0;owned\x07hi", `\033[2J\033]0;owned\007hi`},
		{"NUL and DEL", "a\x00b\x7fc", `a\000b\177c`},
		{"backslash kept", `C:\path`, `C:\path`},
		{"UTF-8 printable kept", "Grüße, 世界 ✓\n", "Grüße, 世界 ✓\n"},
		{"C1 control (CSI) escaped byte by byte", "a\u009b2Jb", `a\302\2332Jb`},
		{"invalid UTF-8", "a\xff\xc3b", `a\377\303b`},
		{"unassigned code point", "a\U000e0fffb", `a\363\240\277\277b`},
	}
	for _, tt := range tests {
		if got := visBanner(tt.in); got != tt.want {
			t.Errorf("%s: visBanner(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}
