package mux

import (
	"sync/atomic"

	"github.com/gitssh/gitssh/dial"
)

// askRecorder notes whether the user declined a question (the Prompter
// failed), which makes a failed dial the asking request's own failure.
type askRecorder struct {
	dial.Prompter
	declined atomic.Bool
}

func (a *askRecorder) Secret(prompt string) (string, error) {
	s, err := a.Prompter.Secret(prompt)
	if err != nil {
		a.declined.Store(true)
	}
	return s, err
}

func (a *askRecorder) Confirm(prompt string) (string, error) {
	s, err := a.Prompter.Confirm(prompt)
	if err != nil {
		a.declined.Store(true)
	}
	return s, err
}
