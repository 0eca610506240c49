package config

import "strings"

// DebugLevel is how many -v the LogLevel amounts to: 1 for DEBUG and
// DEBUG1 up to 3 for DEBUG3, 0 otherwise.
func (d Destination) DebugLevel() int {
	switch strings.ToUpper(d.LogLevel) {
	case "DEBUG", "DEBUG1":
		return 1
	case "DEBUG2":
		return 2
	case "DEBUG3":
		return 3
	}
	return 0
}

// Quiet reports whether the LogLevel is below INFO (QUIET, FATAL, ERROR):
// no warnings, no banners, as OpenSSH's messages at level INFO.
func (d Destination) Quiet() bool {
	switch strings.ToUpper(d.LogLevel) {
	case "QUIET", "FATAL", "ERROR":
		return true
	}
	return false
}
