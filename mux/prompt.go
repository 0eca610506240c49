package mux

// Prompts relayed through the control connection: the master needs the
// user (a key passphrase, an unknown host key) and asks the client whose
// command it is dialling for, which asks on its terminal or with its
// askpass program.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/gitssh/gitssh/dial"
)

// remotePrompter is the master's dial.Prompter for one client: it sends a
// msgPrompt and waits for the msgAnswer that the client's link delivers.
type remotePrompter struct {
	cc      *controlConn
	ctx     context.Context // the client's: it ends when the client leaves
	answers chan answer     // fed by the link's reader

	mu     sync.Mutex // one question at a time; guards nextID
	nextID int
}

func newRemotePrompter(ctx context.Context, cc *controlConn) *remotePrompter {
	return &remotePrompter{cc: cc, ctx: ctx, answers: make(chan answer, 1)}
}

func (r *remotePrompter) Secret(text string) (string, error)  { return r.ask(text, false) }
func (r *remotePrompter) Confirm(text string) (string, error) { return r.ask(text, true) }

func (r *remotePrompter) ask(text string, echo bool) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nextID++
	if err := r.cc.writeMsg(msgPrompt, prompt{ID: r.nextID, Echo: echo, Text: text}); err != nil {
		return "", err
	}
	for {
		select {
		case a := <-r.answers:
			if a.ID != r.nextID {
				continue // an answer to a question given up on
			}
			if a.Err != "" {
				return "", errors.New(a.Err)
			}
			return a.Text, nil
		case <-r.ctx.Done():
			return "", r.ctx.Err()
		}
	}
}

// deliver hands a msgAnswer body to the waiting question, if any.
func (r *remotePrompter) deliver(body json.RawMessage) {
	var a answer
	if json.Unmarshal(body, &a) != nil {
		return
	}
	select {
	case r.answers <- a:
	default: // nobody asked: dropped
	}
}

// answerPrompt is the client's side: it asks its user the master's
// question and sends the answer back.
func answerPrompt(cc *controlConn, body json.RawMessage, p dial.Prompter) error {
	var q prompt
	if err := json.Unmarshal(body, &q); err != nil {
		return fmt.Errorf("mux: bad prompt from master: %w", err)
	}
	a := answer{ID: q.ID}
	var err error
	switch {
	case p == nil:
		err = errors.New("nobody to ask")
	case q.Echo:
		a.Text, err = p.Confirm(q.Text)
	default:
		a.Text, err = p.Secret(q.Text)
	}
	if err != nil {
		a.Err = err.Error()
	}
	return cc.writeMsg(msgAnswer, a)
}
