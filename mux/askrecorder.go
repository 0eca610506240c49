package mux

import (
	"sync/atomic"

	"github.com/gitssh/gitssh/dial"
)

// askRecorder notes whether the user declined a question (the Prompter
// failed), which makes a failed dial the asking request's own failure, and
// tells asking when a question starts and ends waiting for its answer.
type askRecorder struct {
	dial.Prompter
	asking   func(on bool) // if set, called before and after each question
	declined atomic.Bool
}

func (a *askRecorder) waiting(on bool) {
	if a.asking != nil {
		a.asking(on)
	}
}

func (a *askRecorder) Secret(prompt string) (string, error) {
	a.waiting(true)
	defer a.waiting(false)
	s, err := a.Prompter.Secret(prompt)
	if err != nil {
		a.declined.Store(true)
	}
	return s, err
}

func (a *askRecorder) Confirm(prompt string) (string, error) {
	a.waiting(true)
	defer a.waiting(false)
	s, err := a.Prompter.Confirm(prompt)
	if err != nil {
		a.declined.Store(true)
	}
	return s, err
}
