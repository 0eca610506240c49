package config

import "fmt"

// The work of one Resolve is bounded, whatever the configuration files
// hold, so that no input (files that include themselves many times over,
// enormous files, long ProxyJump lists) can make it take more than a
// fraction of a second. The bounds count everything one Resolve does: both
// passes ("Match final" reads the files again) and every ProxyJump hop
// (each reads the files for itself).
const (
	// maxIncludeDepth is OpenSSH's READCONF_MAX_DEPTH: deeper Include
	// lines are skipped with OpenSSH's note "Too many recursive
	// configuration includes".
	maxIncludeDepth = 16
	// maxFileReads bounds the files read; past it, further files are
	// skipped with a note (a file including itself twice at each of 16
	// levels would otherwise be read 2^17 times).
	maxFileReads = 256
	// maxWork bounds everything else, in units of about a nanosecond of
	// work: each file read costs fileCost plus its length, each line
	// lineCost plus byteCost per byte (tokenizing, expanding), and a Host
	// or Match line (or an unknown keyword tested
	// against IgnoreUnknown) also the product of its length and the length
	// of what its patterns are matched against, which bounds the pattern
	// matching (see matchPattern). Real configurations stay far below it
	// (a thousand lines of Host blocks, two passes, a few hops: a few
	// million); past it, Resolve fails with a *LimitError rather than use
	// half of a configuration.
	maxWork  = 20_000_000
	fileCost = 40_000
	lineCost = 100
	byteCost = 4
	// maxJumpDepth bounds how deeply ProxyJump hosts may themselves be
	// reached through ProxyJump hosts of their own (one list holds at most
	// maxJumpHops), and maxHopsResolved the hops resolved in all, at every
	// depth.
	maxJumpDepth    = 8
	maxHopsResolved = 64
)

// budget counts the work of one Resolve; every evaluator and hop of it
// shares one.
type budget struct {
	files, work, hops int
}

// LimitError is a configuration whose evaluation would do more work than
// gitssh allows one Resolve (see the bounds above). It is wrapped in the
// *Error that Resolve returns.
type LimitError struct {
	What  string // "configuration work" or "jump hosts"
	Limit int
}

func (e *LimitError) Error() string {
	if e.What == "jump hosts" {
		return fmt.Sprintf("more than %d jump hosts in all", e.Limit)
	}
	return fmt.Sprintf("configuration too large: gave up after %d units of work for one destination (an Include or ProxyJump loop?)", e.Limit)
}

// charge counts n units of work.
func (b *budget) charge(n int) error {
	b.work += n
	if b.work > maxWork || n < 0 {
		return &LimitError{What: "configuration work", Limit: maxWork}
	}
	return nil
}
