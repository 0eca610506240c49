package testworld

import "testing"

func TestMentionsPath(t *testing.T) {
	tests := []struct {
		cmdline, path string
		want          bool
	}{
		{"gitssh\x00--master\x00/tmp/s/script-a1/ctl\x00", "/tmp/s/script-a1", true},
		{"sh\x00-c\x00cat /tmp/s/script-a1 'x'\x00", "/tmp/s/script-a1", true},
		{"git\x00init\x00/tmp/s/script-a10/repos/r3.git\x00", "/tmp/s/script-a1", false},
		{"git\x00init\x00/tmp/s/script-a10/r\x00/tmp/s/script-a1\x00", "/tmp/s/script-a1", true},
		{"sleep\x0010\x00", "/tmp/s/script-a1", false},
	}
	for _, tt := range tests {
		if got := mentionsPath(tt.cmdline, tt.path); got != tt.want {
			t.Errorf("mentionsPath(%q, %q) = %v, want %v", tt.cmdline, tt.path, got, tt.want)
		}
	}
}
