package config

// An Error is a problem that stops Resolve: a bad destination or command
// line option, an option value that cannot be expanded, a -F file that
// cannot be read, a ProxyJump loop. Its text is OpenSSH's message where
// OpenSSH has one (ssh exits 255 on all of them), ready to print.
//
// Problems in configuration files never stop Resolve: the line is skipped
// and reported in Destination.Notes.
type Error struct {
	Msg string
	Err error // the underlying error, if any
}

func (e *Error) Error() string { return e.Msg }

func (e *Error) Unwrap() error { return e.Err }
