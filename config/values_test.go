package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"0", 0},
		{"30", 30 * time.Second},
		{"30s", 30 * time.Second},
		{"30S", 30 * time.Second},
		{"5m", 5 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{"1h30m15", 90*time.Minute + 15*time.Second},
		{"2d", 48 * time.Hour},
		{"1w", 7 * 24 * time.Hour},
		{"1.5s", time.Second}, // fractions are truncated, as OpenSSH's convtime does
		{"10m10m", 20 * time.Minute},
	}
	for _, tt := range tests {
		got, err := parseTime(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "s", "m5", "5x", "-1", "1.5m", "1.s", "1s2s", "5 m", "1.2.3", "99999999999"} {
		if got, err := parseTime(bad); err == nil {
			t.Errorf("parseTime(%q) = %v, want an error", bad, got)
		}
	}
}

func TestParsePort(t *testing.T) {
	for in, want := range map[string]int{"1": 1, "22": 22, "65535": 65535, "07999": 7999} {
		if got, ok := parsePort(in); !ok || got != want {
			t.Errorf("parsePort(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "0", "65536", "-1", "+22", "ssh", "22x", "123456"} {
		if got, ok := parsePort(bad); ok {
			t.Errorf("parsePort(%q) = %d, want not ok", bad, got)
		}
	}
}

func TestParseJumpSpec(t *testing.T) {
	got, err := parseJumpSpec("a,u@b:2022,ssh://v@[::1]:22,[2001:db8::1]:23,w@x@c")
	if err != nil {
		t.Fatal(err)
	}
	want := []hostPort{{host: "a"}, {user: "u", host: "b", port: 2022}, {user: "v", host: "::1", port: 22}, {host: "2001:db8::1", port: 23}, {user: "w@x", host: "c"}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(hostPort{})); diff != "" {
		t.Errorf("parseJumpSpec: (-want +got)\n%s", diff)
	}
	for _, bad := range []string{"", "a,", ",a", "@a", "a:0", "a/b", "ssh://a/path", "a:b"} {
		if hops, err := parseJumpSpec(bad); err == nil {
			t.Errorf("parseJumpSpec(%q) = %v, want an error", bad, hops)
		}
	}
}
