// Package keepalive implements OpenSSH's ServerAliveInterval and
// ServerAliveCountMax over an SSH connection: after an interval in which
// nothing arrived from the server it sends a keepalive@openssh.com global
// request with want-reply, and it declares the connection dead once CountMax
// of them in a row went unanswered and the server stayed silent for one more
// interval. Any reply counts, success or failure (OpenSSH's sshd answers
// with failure), and so does any traffic from the server.
//
// The timing follows OpenSSH's clientloop.c (server_alive_check) exactly:
//
//   - a keepalive is due Interval after the last byte received from the
//     server, or Interval after the previous keepalive;
//   - every packet received from the server, a reply included, resets the
//     count of unanswered keepalives;
//   - when a keepalive is due and the count already equals CountMax, the
//     connection is dead. With the default CountMax of 3 a silent server is
//     declared dead 4×Interval after its last packet, 3×Interval after the
//     first unanswered keepalive.
//
// Traffic is reported with [Monitor.Seen], or by wrapping the transport
// connection under the SSH client with [Monitor.WrapConn]. Without either,
// only replies to keepalives count as signs of life.
//
// No step waits on the network. golang.org/x/crypto/ssh's SendRequest blocks
// without a timeout until its reply arrives, and on a blackholed connection
// even its write blocks, so each keepalive is sent from its own goroutine and
// the verdict comes from the clock. At most one keepalive is in flight: x/crypto
// sends want-reply global requests one at a time anyway, so a second one
// would only queue behind the first. On a dead verdict [Monitor.Run] closes
// the connection, which unblocks that goroutine, and returns only after it has
// ended: no goroutine outlives Run.
//
// # Channel keepalives
//
// Some servers reset their idle timer only on channel traffic and count
// neither global requests nor the replies to them (dropbear's -I). There a
// command whose channel is silent longer than the timeout (a push whose
// pre-receive hook works quietly) is cut off however well the connection is
// kept alive. A [ChannelMonitor] sends a keepalive@openssh.com channel
// request (want-reply) on a command's channel after Interval in which
// nothing arrived on it, once the exec has been answered (never on a larval
// channel). Any answer counts, failure included: OpenSSH's sshd answers an
// unknown channel request with failure, and the request disturbs nothing.
//
// The rule for the verdict: channel keepalives never declare anything dead.
// The connection's [Monitor] alone does, from its own global requests and
// from every byte received, a channel request's reply included (it is
// traffic on the connection like any other). A server that answers channel
// requests is alive; one that answers nothing is found dead by the Monitor
// on its usual schedule. Channel keepalives are sent to every server, not
// only to those known to need them: one small packet per silent interval
// per silent command costs less than learning, and a server's idle timer
// cannot be observed before it strikes.
//
// The package decides liveness only. It does not know about pools or
// configuration files (package mux removes a dead connection from its pool;
// package config reads ServerAliveInterval), it does not log, and it does not
// talk to the user: cmd/gitssh turns [ErrTimeout] into OpenSSH's
// "Timeout, server HOST not responding.". It imports the standard library only;
// [Conn] is satisfied by golang.org/x/crypto/ssh's *Client and Conn.
package keepalive
