package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/gitssh/gitssh/config"
	"github.com/google/go-cmp/cmp"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    invocation
		wantErr string
	}{
		{
			name: "git probe",
			args: []string{"-G", "-o", "SendEnv=GIT_PROTOCOL", "-p", "7999", "git@host"},
			want: invocation{printConfig: true, req: config.Request{Destination: "git@host", Port: "7999", Options: []string{"SendEnv=GIT_PROTOCOL"}}, command: []string{}},
		},
		{
			name: "git fetch with a port",
			args: []string{"-o", "SendEnv=GIT_PROTOCOL", "-p", "7999", "git@host", "git-upload-pack '/p/r.git'"},
			want: invocation{req: config.Request{Destination: "git@host", Port: "7999", Options: []string{"SendEnv=GIT_PROTOCOL"}}, command: []string{"git-upload-pack '/p/r.git'"}},
		},
		{
			name: "attached values and clusters",
			args: []string{"-4vvp22", "-oBatchMode=yes", "-ikey", "host", "echo", "hi"},
			want: invocation{req: config.Request{Destination: "host", Port: "22", AddressFamily: "inet", Verbose: 2, Options: []string{"BatchMode=yes"}, Identities: []string{"key"}}, command: []string{"echo", "hi"}},
		},
		{
			name: "git-lfs control options and double dash",
			args: []string{"-oControlMaster=auto", "-oControlPath=/tmp/sock", "--", "git@host", "git-lfs-authenticate", "r", "download"},
			want: invocation{req: config.Request{Destination: "git@host", Options: []string{"ControlMaster=auto", "ControlPath=/tmp/sock"}}, command: []string{"git-lfs-authenticate", "r", "download"}},
		},
		{
			name: "options after the destination",
			args: []string{"host", "-l", "git", "-T", "cmd", "-v"},
			want: invocation{req: config.Request{Destination: "host", User: "git"}, command: []string{"cmd", "-v"}},
		},
		{
			name: "ignored flags are remembered",
			args: []string{"-x", "-c", "aes128-ctr", "host"},
			want: invocation{req: config.Request{Destination: "host"}, ignored: []string{"-x", "-c aes128-ctr"}, command: []string{}},
		},
		{name: "unknown flag", args: []string{"-Z", "host"}, wantErr: "unknown option -- Z"},
		{name: "missing value", args: []string{"host", "-p"}, wantErr: "option requires an argument -- p"},
		{name: "no destination", args: []string{"-v"}, wantErr: "missing destination"},
		{name: "port forwarding is refused", args: []string{"-L", "1:h:2", "host"}, wantErr: "option -L is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseArgs(tt.args)
			if tt.wantErr != "" {
				var ue *usageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseArgs(%q) error = %v, want usage error containing %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseArgs(%q) error = %v", tt.args, err)
			}
			if diff := cmp.Diff(tt.want, *got, cmp.AllowUnexported(invocation{})); diff != "" {
				t.Errorf("parseArgs(%q) mismatch (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

func FuzzParseArgs(f *testing.F) {
	f.Add("-G\x00-o\x00SendEnv=GIT_PROTOCOL\x00-p\x007999\x00git@host")
	f.Add("-4vvp22\x00-oBatchMode=yes\x00host\x00echo")
	f.Add("--\x00host\x00-v")
	f.Add("-p")
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		inv, err := parseArgs(args)
		if err != nil {
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Fatalf("parseArgs(%q) returned %T, want *usageError", args, err)
			}
			return
		}
		if inv.req.Destination == "" && !inv.help && !inv.version && inv.control == "" {
			t.Fatalf("parseArgs(%q) accepted no destination", args)
		}
	})
}
