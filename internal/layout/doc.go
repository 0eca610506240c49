// Package layout holds no code, only the tests that keep the repository's
// shape: which package may import which, and a package comment on each.
package layout
