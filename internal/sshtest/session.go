package sshtest

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// session serves one session channel: env requests, then one exec or shell
// request. It returns once the client has closed the channel (or the
// connection is gone) and the command has ended.
// pr was registered by the serve loop before the session started, so that
// admit never misses it.
func (c *conn) session(ch ssh.Channel, reqs <-chan *ssh.Request, pr *probe) {
	defer c.removeSession(pr)
	gone := make(chan struct{}) // closed when the client has closed the channel
	var once sync.Once
	release := func() { once.Do(c.release) }
	var wg sync.WaitGroup
	env := make(map[string]string)
	started := false
	handle := func(req *ssh.Request) {
		c.active()
		switch req.Type {
		case "env":
			var p struct{ Name, Value string }
			ok := !started && ssh.Unmarshal(req.Payload, &p) == nil &&
				slices.Contains(c.srv.opts.AcceptEnv, p.Name)
			if ok {
				env[p.Name] = p.Value
			}
			reply(req, ok)
		case "exec":
			if c.isEnding() {
				return // never answered: the connection closes
			}
			var p struct{ Command string }
			if started || ssh.Unmarshal(req.Payload, &p) != nil {
				reply(req, false)
				return
			}
			started = true
			e := Exec{Conn: c.id, User: c.sc.User(), Command: p.Command, Env: maps.Clone(env)}
			c.srv.count(func() {
				c.srv.execs = append(c.srv.execs, e)
				c.srv.running++
				c.srv.maxRunning = max(c.srv.maxRunning, c.srv.running)
			})
			reply(req, true)
			var ended sync.Once
			end := func() {
				ended.Do(func() { c.srv.count(func() { c.srv.running-- }) })
				release()
			}
			x := &command{conn: c, ch: ch, env: e.Env, gone: gone, release: end}
			wg.Go(func() { x.run(p.Command) })
		case "shell":
			if started || c.srv.opts.RefuseShell {
				reply(req, false)
				return
			}
			started = true
			reply(req, true)
			x := &command{conn: c, ch: ch, gone: gone, release: release}
			wg.Go(x.shell)
		case "keepalive@openssh.com":
			c.srv.count(func() {
				c.srv.channelKeepalives++
				if !started {
					c.srv.larvalRequests++
				}
			})
			if !c.srv.opts.IgnoreKeepalives {
				reply(req, false)
			}
		default:
			reply(req, false)
		}
	}
loop:
	for {
		select {
		case req, ok := <-reqs:
			if !ok {
				break loop
			}
			handle(req)
		case ack := <-pr.probe:
			// The serve loop wants to know whether the client has closed
			// this channel: x/crypto closed reqs, and answered the
			// client's close, before it queued the channel open that the
			// serve loop is deciding on.
			open := drain(reqs, handle)
			if !open {
				release()
			}
			close(ack)
			if !open {
				break loop
			}
		}
	}
	release()
	close(pr.closed)
	close(gone)
	wg.Wait()
	if c.srv.opts.CloseAfterFirstSession {
		// Like tinysshd, which exits with its session: from now on
		// nothing the client sends is answered.
		c.mu.Lock()
		c.ending = true
		c.mu.Unlock()
	}
	ch.Close()
	if c.srv.opts.CloseAfterFirstSession {
		c.closeGracefully()
	}
}

// drain handles the requests already queued on reqs and reports whether
// reqs is still open.
func drain(reqs <-chan *ssh.Request, handle func(*ssh.Request)) bool {
	for {
		select {
		case req, ok := <-reqs:
			if !ok {
				return false
			}
			handle(req)
		default:
			return true
		}
	}
}

func reply(req *ssh.Request, ok bool) {
	if req.WantReply {
		req.Reply(ok, nil)
	}
}

// command is one running command.
type command struct {
	conn    *conn
	ch      ssh.Channel
	env     map[string]string
	gone    <-chan struct{} // closed when the client has closed the channel
	release func()          // frees the channel slot; idempotent
}

func (x *command) run(cmdline string) {
	name, args, _ := strings.Cut(strings.TrimSpace(cmdline), " ")
	fields := strings.Fields(args)
	args = strings.Join(fields, " ")
	switch name {
	case "echo":
		fmt.Fprintln(x.ch, args)
		x.exit(0)
	case "cat":
		io.Copy(x.ch, x.stdin())
		x.exit(0)
	case "readdrop":
		n, err := strconv.Atoi(args)
		if err != nil || n < 0 {
			x.usage("readdrop N")
			return
		}
		io.CopyN(io.Discard, x.stdin(), int64(n))
		x.release()
		x.conn.nc.Close()
	case "exit":
		n, err := strconv.Atoi(args)
		if err != nil || n < 0 {
			x.usage("exit N")
			return
		}
		x.exit(n)
	case "env":
		v, ok := x.env[args]
		if !ok {
			x.exit(1)
			return
		}
		fmt.Fprintln(x.ch, v)
		x.exit(0)
	case "sleep":
		d, err := parseDuration(args)
		if err != nil {
			x.usage("sleep DURATION")
			return
		}
		timer := time.NewTimer(d)
		defer timer.Stop()
		if !x.wait(timer.C) {
			x.abandon()
			return
		}
		x.exit(0)
	case "stderr":
		fmt.Fprintln(x.ch.Stderr(), args)
		x.exit(0)
	case "signal":
		if args == "" {
			x.usage("signal SIG")
			return
		}
		x.signal(strings.TrimPrefix(args, "SIG"))
	case "noexit":
		x.release()
		x.ch.CloseWrite()
		x.ch.Close()
	case "hang":
		x.wait(nil)
		x.abandon()
	case "barrier":
		n, err := strconv.Atoi(args)
		if err != nil || n < 1 {
			x.usage("barrier N")
			return
		}
		srv := x.conn.srv
		released := srv.arrive(n)
		select {
		case <-released:
			x.exit(0)
		case <-x.gone:
			srv.leave(released)
			x.abandon()
		case <-srv.done:
			x.abandon()
		}
	case "drop":
		n := 0
		if args != "" {
			var err error
			if n, err = strconv.Atoi(args); err != nil || n < 0 {
				x.usage("drop [N]")
				return
			}
		}
		writePattern(x.ch, n)
		x.release()
		x.conn.nc.Close()
	case "bytes":
		n, err := strconv.Atoi(args)
		if err != nil || n < 0 {
			x.usage("bytes N")
			return
		}
		if writePattern(x.ch, n) != nil {
			x.abandon()
			return
		}
		x.exit(0)
	default:
		fmt.Fprintf(x.ch.Stderr(), "sshtest: %s: command not found\n", name)
		x.exit(127)
	}
}

// stdin returns the command's stdin; what it reads is channel traffic for
// Options.IdleTimeout.
func (x *command) stdin() io.Reader { return activeReader{x} }

type activeReader struct{ x *command }

func (r activeReader) Read(p []byte) (int, error) {
	n, err := r.x.ch.Read(p)
	if n > 0 {
		r.x.conn.active()
	}
	return n, err
}

// shell answers a shell request the way GitHub does.
func (x *command) shell() {
	fmt.Fprintf(x.ch.Stderr(), "Hi %s! You've successfully authenticated, but sshtest does not provide shell access.\n", x.conn.sc.User())
	x.exit(1)
}

func (x *command) usage(u string) {
	fmt.Fprintf(x.ch.Stderr(), "sshtest: usage: %s\n", u)
	x.exit(2)
}

// wait blocks until c delivers, the client closes the channel, or the server
// is closed. It reports whether c delivered.
func (x *command) wait(c <-chan time.Time) bool {
	select {
	case <-c:
		return true
	case <-x.gone:
	case <-x.conn.srv.done:
	}
	return false
}

// exit ends the command the way OpenSSH's sshd does: EOF, exit-status,
// close. The slot is freed first, so that a client that has seen the exit
// status can open another channel at once.
func (x *command) exit(status int) {
	x.release()
	x.ch.CloseWrite()
	x.ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(status)}))
	x.ch.Close()
}

func (x *command) signal(sig string) {
	x.release()
	x.ch.CloseWrite()
	x.ch.SendRequest("exit-signal", false, ssh.Marshal(struct {
		Signal     string
		CoreDumped bool
		Error      string
		Lang       string
	}{Signal: sig}))
	x.ch.Close()
}

// abandon ends a command the client or the server gave up on.
func (x *command) abandon() {
	x.release()
	x.ch.Close()
}

func parseDuration(s string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(s, 64); err == nil && n >= 0 {
		return time.Duration(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err == nil && d < 0 {
		err = fmt.Errorf("negative duration %v", d)
	}
	return d, err
}

// patternPeriod is prime, so that a lost or repeated chunk of any
// power-of-two size shows up as a mismatch.
const patternPeriod = 251

// Pattern returns the first n bytes of the deterministic stream that the
// bytes and drop commands write: byte i is i mod 251.
func Pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i % patternPeriod)
	}
	return b
}

func writePattern(w io.Writer, n int) error {
	chunk := Pattern(patternPeriod * 128) // whole periods: every chunk starts at phase 0
	for n > 0 {
		k := min(n, len(chunk))
		if _, err := w.Write(chunk[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}
