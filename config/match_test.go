package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMatchPattern(t *testing.T) {
	tests := []struct {
		s, pattern string
		want       bool
	}{
		{"", "", true},
		{"a", "", false},
		{"", "*", true},
		{"github.com", "*", true},
		{"github.com", "*.com", true},
		{"github.com", "git*.c?m", true},
		{"github.com", "github.co", false},
		{"a", "?", true},
		{"", "?", false},
		{"ab", "?", false},
		{"abc", "a*b*c", true},
		{"abc", "a**c", true},
		{"acb", "a*b*c", false},
		{"Host", "host", false},
		{"a.b", "a?b", true},
		{strings.Repeat("a", 200), strings.Repeat("*a", 100) + "b", false}, // no exponential backtracking
	}
	for _, tt := range tests {
		if got := matchPattern(tt.s, tt.pattern); got != tt.want {
			t.Errorf("matchPattern(%q, %q) = %v, want %v", tt.s, tt.pattern, got, tt.want)
		}
	}
}

func TestMatchPatternList(t *testing.T) {
	tests := []struct {
		s, list string
		lower   bool
		want    int
	}{
		{"web1", "web*,db*", false, 1},
		{"web1", "db*,!web1", false, -1},
		{"web1", "web*,!web1", false, -1},
		{"web2", "web*,!web1", false, 1},
		{"mail", "web*,db*", false, 0},
		{"web1", "WEB*", false, 0},
		{"web1", "WEB*", true, 1},
		{"x", "", false, 0},
	}
	for _, tt := range tests {
		if got := matchPatternList(tt.s, tt.list, tt.lower); got != tt.want {
			t.Errorf("matchPatternList(%q, %q, %v) = %d, want %d", tt.s, tt.list, tt.lower, got, tt.want)
		}
	}
}

func TestEvalMatch(t *testing.T) {
	mc := matchContext{host: "real.example.com", originalHost: "alias", user: "git", localUser: "alice"}
	final := mc
	final.final = true
	tests := []struct {
		line string
		mc   matchContext
		want matchOutcome
	}{
		{"all", mc, matchOutcome{matched: true}},
		{"!all", mc, matchOutcome{}},
		{"host *.example.com user git", mc, matchOutcome{matched: true}},
		{"host *.example.com user root", mc, matchOutcome{}},
		{"!host other originalhost alias", mc, matchOutcome{matched: true}},
		{"final all", mc, matchOutcome{wantFinal: true}},
		{"final all", final, matchOutcome{matched: true, wantFinal: true}},
		{"!final", mc, matchOutcome{matched: true}},
		{"canonical", mc, matchOutcome{}},
		{"canonical", final, matchOutcome{matched: true}},
		{`exec "true"`, mc, matchOutcome{unevaluated: []string{`exec "true"`}}},
		{`host nomatch exec "true"`, mc, matchOutcome{}},
		{"localnetwork 10.0.0.0/8", mc, matchOutcome{unevaluated: []string{`localnetwork "10.0.0.0/8"`}}},
		{"User=git", mc, matchOutcome{matched: true}},
		{"tagged x", mc, matchOutcome{}},
	}
	for _, tt := range tests {
		args, _ := argvSplit(tt.line, true)
		got, err := evalMatch(args, tt.mc)
		if err != nil {
			t.Errorf("evalMatch(%q) = %v", tt.line, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(matchOutcome{})); diff != "" {
			t.Errorf("evalMatch(%q, final=%v): (-want +got)\n%s", tt.line, tt.mc.final, diff)
		}
	}
}

func TestEvalMatchErrors(t *testing.T) {
	tests := []struct{ line, want string }{
		{"", "One or more attributes required for Match"},
		{"host", "missing argument for Match 'host'"},
		{`host ""`, "Missing Match criteria for host"},
		{"all host a", "'all' cannot be combined with other Match attributes"},
		{"color blue", "Unsupported Match attribute color"},
	}
	for _, tt := range tests {
		args, _ := argvSplit(tt.line, true)
		_, err := evalMatch(args, matchContext{})
		if err == nil || err.Error() != tt.want {
			t.Errorf("evalMatch(%q) = %v, want %q", tt.line, err, tt.want)
		}
	}
}
