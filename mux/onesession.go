package mux

import (
	"errors"
	"time"

	"github.com/gitssh/gitssh/keepalive"
)

// Some servers (tinysshd) serve one session per connection, ever, and end
// the connection when it ends. The pool learns that as its own fact, apart
// from the channel limit: a connection the server ended right after its
// only command ended, with nothing else open, is one piece of evidence;
// oneSessionEvidence of them make the fact, which is remembered per server
// (serverLimits.OneSession) and gives every later command a connection of
// its own. A command caught on such a connection before a byte crossed it
// runs again elsewhere (notDeliveredError), so nothing is lost meanwhile.

// oneSessionWindow is how soon after its only command ended a connection
// must have ended to count as evidence. A server that does this ends it at
// once; an idle timeout or a restart is not that quick, and a restart that
// happens to be is one piece of evidence, not the fact.
const oneSessionWindow = time.Second

// oneSessionEvidence is how many connections must show it.
const oneSessionEvidence = 2

// sessionLog is what the ends of one connection's commands showed.
type sessionLog struct {
	completed int       // commands that ended on it
	lastEnd   time.Time // when the last of them ended
	judged    bool      // its end has been looked at
}

func (s *sessionLog) ended(t time.Time) {
	s.completed++
	s.lastEnd = t
}

// notDelivered returns the slot of a command whose connection ended before
// a byte crossed it: for what the server saw, the channel never carried
// anything. The command runs again. p.mu must not be held.
func (p *pool) notDelivered(pc *pooledConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pc.open--
	pc.used--
	p.stats.Redelivered++
	p.log.Info("connection ended before the command was delivered; running it on another", "conn", pc.id, "err", pc.err)
	p.judgeEnd(pc)
	pc.retired = true
	if pc.open == 0 {
		p.closeConn(pc)
	}
}

// judgeEnd looks at a connection that has ended (by the server's doing, or
// the link's) for evidence of a one-session server. p.mu must be held.
func (p *pool) judgeEnd(pc *pooledConn) {
	s := &pc.sessions
	if s.judged || pc.alive() {
		return
	}
	s.judged = true
	if s.completed != 1 || pc.open != 0 || errors.Is(pc.err, keepalive.ErrTimeout) {
		return
	}
	if d := pc.ended.Sub(s.lastEnd); d > oneSessionWindow {
		return
	}
	p.oneSessionSeen++
	if p.oneSessionSeen < oneSessionEvidence || p.limits.get(p.server).OneSession {
		return
	}
	p.log.Info("server ends a connection after its first session", "conn", pc.id, "connections", p.oneSessionSeen)
	p.remember(func(l *serverLimits) { l.OneSession = true })
}
