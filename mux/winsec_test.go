package mux

import (
	"errors"
	"strings"
	"testing"
)

const testSID = "S-1-5-21-1004336348-1177238915-682003330-1001"

func TestPipeName(t *testing.T) {
	a := pipeName(`C:\Users\ann\AppData\Local\gitssh\master.sock`)
	if !strings.HasPrefix(a, `\\.\pipe\gitssh-`) || len(a) != len(`\\.\pipe\gitssh-`)+32 {
		t.Errorf("pipeName = %q, want \\\\.\\pipe\\gitssh- and 32 hex digits", a)
	}
	if b := pipeName(`c:\users\ANN\appdata\local\gitssh\master.sock`); b != a {
		t.Errorf("pipeName differs by case: %q and %q; Windows paths are case-insensitive", a, b)
	}
	if b := pipeName(`C:\Users\bob\AppData\Local\gitssh\master.sock`); b == a {
		t.Errorf("two users' control paths share the pipe %q", a)
	}
}

func TestSDDL(t *testing.T) {
	tests := []struct {
		name     string
		sid      string
		pipe     string
		dir      string
		wantFail bool
	}{
		{name: "user", sid: testSID, pipe: "D:P(A;;GA;;;" + testSID + ")", dir: "O:" + testSID + "D:P(A;OICI;FA;;;" + testSID + ")"},
		{name: "well-known", sid: "S-1-5-18", pipe: "D:P(A;;GA;;;S-1-5-18)", dir: "O:S-1-5-18D:P(A;OICI;FA;;;S-1-5-18)"},
		{name: "empty", sid: "", wantFail: true},
		{name: "alias instead of SID", sid: "WD", wantFail: true},
		{name: "SDDL injection", sid: "S-1-5-18)(A;;GA;;;WD", wantFail: true},
		{name: "empty part", sid: "S-1--5", wantFail: true},
		{name: "too short", sid: "S-1", wantFail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pipe, perr := pipeSDDL(tt.sid)
			dir, derr := dirSDDL(tt.sid)
			if tt.wantFail {
				if perr == nil || derr == nil {
					t.Errorf("pipeSDDL(%q), dirSDDL(%q) = %q, %q; want errors", tt.sid, tt.sid, pipe, dir)
				}
				return
			}
			if perr != nil || pipe != tt.pipe {
				t.Errorf("pipeSDDL(%q) = %q, %v; want %q", tt.sid, pipe, perr, tt.pipe)
			}
			if derr != nil || dir != tt.dir {
				t.Errorf("dirSDDL(%q) = %q, %v; want %q", tt.sid, dir, derr, tt.dir)
			}
		})
	}
}

func TestCheckPrivateACL(t *testing.T) {
	const other = "S-1-5-21-1004336348-1177238915-682003330-1002"
	const everyone = "S-1-1-0"
	allow := func(sid string) aclEntry { return aclEntry{Type: aceAccessAllowed, SID: sid} }
	tests := []struct {
		name    string
		owner   string
		hasDACL bool
		entries []aclEntry
		safe    bool
	}{
		{name: "as gitssh makes it", owner: testSID, hasDACL: true, entries: []aclEntry{allow(testSID)}, safe: true},
		{name: "inherited from LOCALAPPDATA", owner: testSID, hasDACL: true,
			entries: []aclEntry{allow(sidLocalSystem), allow(sidAdministrators), allow(testSID)}, safe: true},
		{name: "empty DACL admits nobody", owner: testSID, hasDACL: true, safe: true},
		{name: "deny entry for everyone", owner: testSID, hasDACL: true,
			entries: []aclEntry{{Type: aceAccessDenied, SID: everyone}, allow(testSID)}, safe: true},
		{name: "inherit-only entry for another user", owner: testSID, hasDACL: true,
			entries: []aclEntry{allow(testSID), {Type: aceAccessAllowed, Flags: aceInheritOnly, SID: other}}, safe: true},
		{name: "owned by another user", owner: other, hasDACL: true, entries: []aclEntry{allow(testSID)}},
		{name: "owned by Administrators", owner: sidAdministrators, hasDACL: true, entries: []aclEntry{allow(testSID)}},
		{name: "no DACL", owner: testSID, hasDACL: false},
		{name: "another user allowed", owner: testSID, hasDACL: true, entries: []aclEntry{allow(testSID), allow(other)}},
		{name: "everyone allowed", owner: testSID, hasDACL: true, entries: []aclEntry{allow(everyone)}},
		{name: "callback allow entry", owner: testSID, hasDACL: true, entries: []aclEntry{allow(testSID), {Type: 0x9}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPrivateACL(`C:\x\gitssh`, tt.owner, testSID, tt.hasDACL, tt.entries)
			if tt.safe && err != nil {
				t.Errorf("checkPrivateACL = %v, want nil", err)
			}
			if !tt.safe && !errors.Is(err, ErrUnsafeControlDir) {
				t.Errorf("checkPrivateACL = %v, want ErrUnsafeControlDir", err)
			}
		})
	}
}
