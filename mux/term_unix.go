//go:build unix

package mux

import "golang.org/x/term"

// isTerminal reports whether fd is a terminal, by the termios request each
// Unix answers only for terminals (x/term knows which one each uses).
func isTerminal(fd int) bool { return term.IsTerminal(fd) }
