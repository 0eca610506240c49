package dial

// Prompter asks the user for what a connection needs: passphrases, passwords
// and host-key decisions. A nil Prompter, or BatchMode, means nobody can be
// asked; the dialer then fails with a clear error instead of hanging.
type Prompter interface {
	// Secret asks for a passphrase or password without echo.
	Secret(prompt string) (string, error)
	// Confirm asks a question and returns the typed answer ("yes", "no",
	// or a fingerprint), without the trailing newline.
	Confirm(prompt string) (string, error)
}
