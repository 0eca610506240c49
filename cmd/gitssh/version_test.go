package main

import (
	"runtime/debug"
	"testing"
)

func TestVersion(t *testing.T) {
	vcs := func(rev, modified string) *debug.BuildInfo {
		info := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}
		info.Settings = []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
		return info
	}
	tests := []struct {
		name            string
		stamped, commit string
		info            *debug.BuildInfo
		want            string
	}{
		{name: "release", stamped: "v0.3.0", commit: "abc1234def5678", info: vcs("ffffffffffff", "true"), want: "v0.3.0 (commit abc1234)"},
		{name: "go install @version", info: &debug.BuildInfo{Main: debug.Module{Version: "v0.3.0"}}, want: "v0.3.0"},
		{name: "git checkout", info: vcs("0123456789abcdef", "false"), want: "devel (commit 0123456)"},
		{name: "modified checkout", info: vcs("0123456789abcdef", "true"), want: "devel (commit 0123456, modified)"},
		{name: "pseudo-version", info: &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261201211830-0123456789ab"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef"}}},
			want: "v0.0.0-20261201211830-0123456789ab (commit 0123456)"},
		{name: "stamped version only", stamped: "v0.3.0", info: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, want: "v0.3.0"},
		{name: "no build info", want: "devel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatVersion(tt.stamped, tt.commit, tt.info); got != tt.want {
				t.Errorf("formatVersion(%q, %q, ...) = %q, want %q", tt.stamped, tt.commit, got, tt.want)
			}
		})
	}
}
