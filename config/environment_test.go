package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEnvironment(t *testing.T) {
	environ := []string{
		"HOME=/home/alice", "LANG=C.UTF-8", "LC_ALL=C", "LC_CTYPE=UTF-8", "GIT_PROTOCOL=version=2",
		"A=from-environ", "malformed", "=x", "GIT_TRACE=1",
	}
	tests := []struct {
		name string
		d    Destination
		want []string
	}{
		{"nothing", Destination{}, nil},
		{"git's SendEnv", Destination{SendEnv: []string{"GIT_PROTOCOL"}}, []string{"GIT_PROTOCOL=version=2"}},
		{"patterns", Destination{SendEnv: []string{"LANG", "LC_*", "GIT_?????"}}, []string{"LANG=C.UTF-8", "LC_ALL=C", "LC_CTYPE=UTF-8", "GIT_TRACE=1"}},
		{"SetEnv last and winning", Destination{SendEnv: []string{"*"}, SetEnv: []string{"A=from-setenv", "B=2"}},
			[]string{"HOME=/home/alice", "LANG=C.UTF-8", "LC_ALL=C", "LC_CTYPE=UTF-8", "GIT_PROTOCOL=version=2", "GIT_TRACE=1", "A=from-setenv", "B=2"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.d.Environment(environ)); diff != "" {
			t.Errorf("%s: Environment(): (-want +got)\n%s", tt.name, diff)
		}
	}
}
