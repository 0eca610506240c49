package config

import (
	"errors"
	"strings"
	"testing"
)

// exponentialInclude is a user configuration that includes itself twice,
// which at OpenSSH's 16 levels of Include is 2^17 readings, followed by
// hosts lines of ordinary options.
func exponentialInclude(hosts int) string {
	var b strings.Builder
	b.WriteString("Include ~/.ssh/config ~/.ssh/config\nMatch final all\n")
	for i := range hosts {
		b.WriteString("Host h" + itoa(i) + " *.example.org\n  User git\n  IdentityFile ~/.ssh/id_%h\n")
	}
	b.WriteString("Host *\n  ProxyJump a,b,c,d\n")
	return b.String()
}

func TestResolveExponentialIncludeIsBounded(t *testing.T) {
	w := newWorld(t)
	w.userConfig(exponentialInclude(200))
	counted := &budget{}
	_, err := resolver{fs: osFS{}, budget: counted}.resolve(dest("x"), w.env, hopContext{})
	var le *LimitError
	if !errors.As(err, &le) || le.What != "configuration work" {
		t.Fatalf("Resolve = %v, want a *LimitError", err)
	}
	if msg := configError(t, err); !strings.Contains(msg, "configuration too large") {
		t.Errorf("Resolve error = %q, want it to say the configuration is too large", msg)
	}
	if counted.work > maxWork+fileCost+1<<20 || counted.files > maxFileReads+1 {
		t.Errorf("Resolve did %d units of work in %d files, want at most about %d and %d", counted.work, counted.files, maxWork, maxFileReads)
	}
}

func TestResolveSmallSelfIncludeStillResolves(t *testing.T) {
	// Below the line bound, recursion is cut at OpenSSH's depth (or the
	// file bound) with a note, and the rest of the file applies.
	w := newWorld(t)
	cfg := w.userConfig("Include config\nUser loop\n")
	d := w.resolve(dest("h"))
	if d.User != "loop" {
		t.Errorf("Resolve(h).User = %q, want loop", d.User)
	}
	if !hasNote(d.Notes, cfg+" line 1: Too many recursive configuration includes") {
		t.Errorf("Notes = %q, want OpenSSH's note about recursion", d.Notes)
	}
}

func TestResolveJumpHopsAreBounded(t *testing.T) {
	w := newWorld(t)
	// Each level's first hop is reached through a full list of its own:
	// 5 levels of 16 hops.
	var cfg strings.Builder
	prev := "h"
	for level := range 5 {
		hops := make([]string, maxJumpHops)
		for i := range hops {
			hops[i] = "l" + itoa(level) + "j" + itoa(i)
		}
		cfg.WriteString("Host " + prev + "\n  ProxyJump " + strings.Join(hops, ",") + "\n")
		prev = hops[0]
	}
	w.userConfig(cfg.String())
	_, err := Resolve(dest("h"), w.env)
	var le *LimitError
	if !errors.As(err, &le) || le.What != "jump hosts" {
		t.Fatalf("Resolve = %v, want a *LimitError for jump hosts", err)
	}
}

func TestResolveHugeFileIsBounded(t *testing.T) {
	w := newWorld(t)
	w.userConfig(strings.Repeat("# "+strings.Repeat("x", 1<<20)+"\n", 21))
	_, err := Resolve(dest("h"), w.env)
	var le *LimitError
	if !errors.As(err, &le) || le.What != "configuration work" {
		t.Fatalf("Resolve = %v, want a *LimitError", err)
	}
}

func TestResolveHostilePatternsAreBounded(t *testing.T) {
	w := newWorld(t)
	w.userConfig(strings.Repeat("Host "+strings.Repeat("*a*b*c?,", 120)+"\n  User x\n", 2000))
	_, err := Resolve(dest(strings.Repeat("a", 200)+".example.org"), w.env)
	var le *LimitError
	if !errors.As(err, &le) {
		t.Fatalf("Resolve = %v, want a *LimitError", err)
	}
}
