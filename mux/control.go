package mux

// The control protocol between gitssh clients and the master: framing,
// message types and bodies, descriptor passing, and the hello exchange.
// PROTOCOL.md is the specification; keep the two in step.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"time"
)

// protocolVersion is the control protocol version carried by the hello.
// Bump it for any change a peer of the previous version would misread.
const protocolVersion = 2

// msgType is the type byte of a control frame.
type msgType uint8

// Message types. Their numbers are part of the wire format; msgHello,
// msgControl and msgControlReply must keep their numbers and meaning in
// every version, because a client uses them to stop a master of another
// version.
const (
	msgHello        msgType = 1  // both ways; hello
	msgRun          msgType = 2  // client → master; RunRequest, with stdin, stdout, stderr
	msgPrompt       msgType = 3  // master → client; prompt
	msgAnswer       msgType = 4  // client → master; answer
	msgExit         msgType = 5  // master → client; exitMsg
	msgControl      msgType = 6  // client → master; controlReq
	msgControlReply msgType = 7  // master → client; controlReply
	msgRunRelay     msgType = 8  // client → master; RunRequest, stdio relayed in the frames below
	msgStdin        msgType = 9  // client → master; raw bytes of stdin, empty at EOF
	msgStdout       msgType = 10 // master → client; raw bytes of stdout
	msgStderr       msgType = 11 // master → client; raw bytes of stderr
	msgWindow       msgType = 12 // both ways; windowMsg: relayed bytes consumed
)

var msgNames = [...]string{
	msgHello:        "hello",
	msgRun:          "run",
	msgPrompt:       "prompt",
	msgAnswer:       "answer",
	msgExit:         "exit",
	msgControl:      "control",
	msgControlReply: "control-reply",
	msgRunRelay:     "run-relay",
	msgStdin:        "stdin",
	msgStdout:       "stdout",
	msgStderr:       "stderr",
	msgWindow:       "window",
}

func (t msgType) known() bool { return t >= msgHello && t <= msgWindow }

// raw reports whether t's body is bytes as they are, not JSON: the relayed
// streams.
func (t msgType) raw() bool { return t == msgStdin || t == msgStdout || t == msgStderr }

func (t msgType) String() string {
	if t.known() {
		return msgNames[t]
	}
	return fmt.Sprintf("type %d", uint8(t))
}

// numFDs is how many descriptors a message of type t carries: exactly
// that many, with the frame's first byte.
func (t msgType) numFDs() int {
	if t == msgRun {
		return 3
	}
	return 0
}

// runFDNames names the descriptors of a msgRun, in order.
var runFDNames = [...]string{"client stdin", "client stdout", "client stderr"}

// hello is the first message each side sends.
type hello struct {
	Version int    `json:"version"` // protocolVersion
	Program string `json:"program"` // the program's own version, for logs and messages
	PID     int    `json:"pid"`
}

// prompt asks the client to ask its user something (a passphrase, a host
// key confirmation). The client answers with an answer of the same ID.
type prompt struct {
	ID   int    `json:"id"`
	Echo bool   `json:"echo"` // the answer may be shown as it is typed
	Text string `json:"text"`
}

// answer is the client's reply to the prompt with the same ID. Err says
// why there is no answer (no terminal, no askpass, the user gave up).
type answer struct {
	ID   int    `json:"id"`
	Text string `json:"text,omitempty"`
	Err  string `json:"err,omitempty"`
}

// exitMsg ends a run: the command's exit status. The master has already
// worded any failure on the command's stderr.
type exitMsg struct {
	Status int `json:"status"`
	// NotStarted says the master never started the command (it is
	// exiting): the client runs it elsewhere, a new master or directly.
	NotStarted bool `json:"not_started,omitempty"`
}

// windowMsg gives back relay window: the receiver has consumed N more
// bytes of the named stream and the sender may send that many more.
type windowMsg struct {
	Stream string `json:"stream"` // "stdin", "stdout" or "stderr"
	N      int    `json:"n"`
}

// controlReq is a -O command: "check", "exit", "stop" or "status".
type controlReq struct {
	Command string `json:"command"`
}

// controlReply answers a controlReq: the master's pid, and its
// statistics for "status". Error says why it is not OK.
type controlReply struct {
	OK     bool          `json:"ok"`
	Error  string        `json:"error,omitempty"`
	PID    int           `json:"pid,omitempty"`
	Status *MasterStatus `json:"status,omitempty"`
}

// VersionMismatchError is a peer that speaks another control protocol
// version. A client that gets it from a master asks that master to stop
// (msgControl "stop", which every version accepts after a hello) and starts
// a master of its own version.
//
// A master of the same protocol but another program version (an upgraded
// gitssh) is told apart the same way by the client, with the program
// versions set, so that an upgrade takes effect at once.
type VersionMismatchError struct {
	Ours, Theirs               int
	OursProgram, TheirsProgram string
}

func (e *VersionMismatchError) Error() string {
	if e.Ours == e.Theirs {
		return fmt.Sprintf("mux: gitssh %s, master is gitssh %s", e.OursProgram, e.TheirsProgram)
	}
	return fmt.Sprintf("mux: control protocol version %d, peer speaks version %d", e.Ours, e.Theirs)
}

// Framing: a uint32 big-endian length of what follows, the type byte, and
// a JSON body.
const (
	headerLen   = 4
	maxFrameLen = 1 << 20 // the largest length field: type byte and body
)

var (
	errFrameTooLarge = errors.New("control frame too large")
	errBadFrame      = errors.New("malformed control frame")
	errUnexpectedFDs = errors.New("unexpected file descriptors")
)

// readFrame decodes the frame at the start of buf. It returns n == 0 and
// no error if buf holds only part of a frame. body is a sub-slice of buf.
// It rejects a length over maxFrameLen, an unknown type and a body that is
// not JSON as soon as it sees them, and never allocates for the body.
func readFrame(buf []byte) (t msgType, body []byte, n int, err error) {
	if len(buf) < headerLen {
		return 0, nil, 0, nil
	}
	length := binary.BigEndian.Uint32(buf)
	switch {
	case length == 0:
		return 0, nil, 0, fmt.Errorf("%w: no type byte", errBadFrame)
	case length > maxFrameLen:
		return 0, nil, 0, fmt.Errorf("%w: %d bytes, the limit is %d", errFrameTooLarge, length, maxFrameLen)
	}
	if len(buf) == headerLen {
		return 0, nil, 0, nil
	}
	t = msgType(buf[headerLen])
	if !t.known() {
		return 0, nil, 0, fmt.Errorf("%w: unknown message %v", errBadFrame, t)
	}
	end := headerLen + int(length)
	if len(buf) < end {
		return 0, nil, 0, nil
	}
	body = buf[headerLen+1 : end]
	if !t.raw() && !json.Valid(body) {
		return 0, nil, 0, fmt.Errorf("%w: %v body is not JSON", errBadFrame, t)
	}
	return t, body, end, nil
}

// appendFrame appends the frame of a message to b.
func appendFrame(b []byte, t msgType, body []byte) ([]byte, error) {
	if len(body)+1 > maxFrameLen {
		return b, fmt.Errorf("%w: %v body is %d bytes, the limit is %d", errFrameTooLarge, t, len(body), maxFrameLen-1)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(body)+1))
	b = append(b, byte(t))
	return append(b, body...), nil
}

// controlConn is one control connection, client or master side. One
// goroutine may read while others write; writes are whole frames.
// After any error the connection is unusable and should be closed.
type controlConn struct {
	conn net.Conn
	// fds is conn as a Unix socket, which can carry descriptors; nil on a
	// connection that cannot (a Windows named pipe).
	fds fdConn

	wmu sync.Mutex // held for each whole frame written

	rmu sync.Mutex // held through readMsg and close; guards the fields that follow
	buf []byte     // read buffer; buf[r:w] is received but not yet returned
	r   int
	w   int
	off int64 // stream offset of buf[r]
	// pending holds received descriptors not yet attached to a frame,
	// oldest first, each with the stream offsets of the read that brought
	// them.
	pending []fdBatch
	oob     []byte
	err     error // sticky read error
	// readLimit, if positive, caps the bytes one read asks for. Tests set
	// it to force frames to arrive in pieces.
	readLimit int
}

// fdConn is what descriptor passing needs of a connection; *net.UnixConn
// has it.
type fdConn interface {
	WriteMsgUnix(b, oob []byte, addr *net.UnixAddr) (n, oobn int, err error)
	ReadMsgUnix(b, oob []byte) (n, oobn, flags int, addr *net.UnixAddr, err error)
}

// fdBatch is the descriptors one read returned, with the stream offsets
// [from, to) of the bytes that read returned. They are *os.Files from the
// start, so that even a caller that drops the connection without close
// leaks them only until the garbage collector finds them.
type fdBatch struct {
	files    []*os.File
	from, to int64
}

const (
	minRead    = 4096 // the least free buffer space a read is given
	initialBuf = 16 << 10
	maxReadBuf = headerLen + maxFrameLen + minRead
	maxRecvFDs = 8 // room for more than msgRun's 3, so extras are seen and closed, not truncated
)

func newControlConn(c net.Conn) *controlConn {
	cc := &controlConn{conn: c}
	if uc, ok := c.(*net.UnixConn); ok && canPassFDs {
		cc.fds = uc
		cc.oob = make([]byte, oobSpace(maxRecvFDs))
	}
	return cc
}

// passesFDs reports whether descriptors can travel on the connection.
func (c *controlConn) passesFDs() bool { return c.fds != nil }

// setDeadline bounds the reads and writes in progress and to come; the
// zero time removes the bound.
func (c *controlConn) setDeadline(t time.Time) error { return c.conn.SetDeadline(t) }

// writeMsg sends one message as a single sendmsg, with files as an
// SCM_RIGHTS control message if given; the rest of a partial write follows
// without them. t must carry exactly len(files) descriptors. The files
// must stay open until writeMsg returns; the peer gets duplicates.
func (c *controlConn) writeMsg(t msgType, body any, files ...*os.File) error {
	js, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("write %v: %w", t, err)
	}
	return c.writeFrame(t, js, files...)
}

// writeRaw sends one frame of a relayed stream: b as it is.
func (c *controlConn) writeRaw(t msgType, b []byte) error { return c.writeFrame(t, b) }

func (c *controlConn) writeFrame(t msgType, body []byte, files ...*os.File) error {
	if want := t.numFDs(); len(files) != want {
		return fmt.Errorf("write %v: %d file descriptors, want %d", t, len(files), want)
	}
	frame, err := appendFrame(make([]byte, 0, headerLen+1+len(body)), t, body)
	if err != nil {
		return err
	}
	var oob []byte
	if len(files) > 0 {
		if c.fds == nil {
			return fmt.Errorf("write %v: %w: descriptors on this connection", t, ErrNotImplemented)
		}
		if oob, err = rightsOOB(files); err != nil {
			return fmt.Errorf("write %v: %w", t, err)
		}
	}

	c.wmu.Lock()
	defer c.wmu.Unlock()
	var n int
	if oob != nil {
		n, _, err = c.fds.WriteMsgUnix(frame, oob, nil)
		runtime.KeepAlive(files) // their descriptors are in oob
	}
	if err == nil && n < len(frame) {
		_, err = c.conn.Write(frame[n:])
	}
	if err != nil {
		return fmt.Errorf("write %v: %w", t, err)
	}
	return nil
}

// readMsg returns the next message, and for a msgRun its three
// descriptors as files (close-on-exec; the caller owns them). Descriptors
// that arrive with a message that must not carry them, in the wrong
// number, or with bytes that no frame starts in are closed, and readMsg
// fails. At a clean end of the stream it returns io.EOF. Only one
// goroutine may call readMsg at a time.
func (c *controlConn) readMsg() (msgType, json.RawMessage, []*os.File, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.err != nil {
		return 0, nil, nil, c.err
	}
	t, body, files, err := c.next()
	if err != nil {
		c.err = err
		c.dropFDs()
		return 0, nil, nil, err
	}
	return t, body, files, nil
}

func (c *controlConn) next() (msgType, json.RawMessage, []*os.File, error) {
	for {
		t, body, n, err := readFrame(c.buf[c.r:c.w])
		if err != nil {
			return 0, nil, nil, err
		}
		if n > 0 {
			start := c.off
			body = bytes.Clone(body)
			c.r += n
			c.off += int64(n)
			files, err := c.claimFDs(t, start, c.off)
			if err != nil {
				return 0, nil, nil, err
			}
			return t, body, files, nil
		}
		if err := c.fill(); err != nil {
			if err == io.EOF && c.r < c.w {
				err = io.ErrUnexpectedEOF
			}
			return 0, nil, nil, err
		}
	}
}

// fill reads once from the connection into the buffer, recording any
// descriptors that came with the bytes.
func (c *controlConn) fill() error {
	if c.r == c.w {
		c.r, c.w = 0, 0
	}
	if len(c.buf)-c.w < minRead && c.r > 0 {
		c.w = copy(c.buf, c.buf[c.r:c.w])
		c.r = 0
	}
	if len(c.buf)-c.w < minRead {
		// Unread bytes are at most one incomplete frame, which readFrame
		// has checked is no larger than maxFrameLen, so maxReadBuf holds
		// it with minRead to spare.
		nb := make([]byte, min(max(2*len(c.buf), initialBuf), maxReadBuf))
		c.w = copy(nb, c.buf[c.r:c.w])
		c.r = 0
		c.buf = nb
	}
	p := c.buf[c.w:]
	if c.readLimit > 0 && len(p) > c.readLimit {
		p = p[:c.readLimit]
	}
	var n, oobn, flags int
	var err error
	if c.fds != nil {
		n, oobn, flags, _, err = c.fds.ReadMsgUnix(p, c.oob)
	} else {
		n, err = c.conn.Read(p)
	}
	from := c.off + int64(c.w-c.r)
	c.w += n
	if oobn > 0 {
		fds, perr := parseRights(c.oob[:oobn], flags)
		if len(fds) > 0 {
			c.pending = append(c.pending, fdBatch{files: newFiles(fds), from: from, to: from + int64(n)})
		}
		if perr != nil {
			return perr
		}
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			return io.EOF // the net.OpError adds nothing
		}
		return fmt.Errorf("read control message: %w", err)
	}
	return nil
}

// claimFDs attaches descriptors to the frame at stream offsets
// [start, end) of type t, and fails on descriptors that can no longer
// belong to any frame.
//
// A sender passes descriptors with the first byte of the frame they belong
// to, and the read that returns that byte returns them. Which other bytes
// the read returns differs by system (Linux may return earlier bytes with
// them, BSD stops before them), so the descriptors belong to a frame that
// starts within that read's bytes: the first such frame whose type carries
// descriptors.
func (c *controlConn) claimFDs(t msgType, start, end int64) ([]*os.File, error) {
	var files []*os.File
	var err error
	keep := c.pending[:0]
	for _, b := range c.pending {
		switch {
		case b.from >= end:
			keep = append(keep, b) // bytes not reached yet
		case files == nil && err == nil && t.numFDs() > 0 && start >= b.from && start < b.to:
			files = b.files
		case b.to <= end:
			// Every frame that starts in b's bytes has been read.
			dropFiles(b.files)
			if err == nil {
				err = fmt.Errorf("%w: %d with a %v message", errUnexpectedFDs, len(b.files), t)
			}
		default:
			keep = append(keep, b) // a later frame may start in b's bytes
		}
	}
	clear(c.pending[len(keep):])
	c.pending = keep
	if err == nil && len(files) != t.numFDs() {
		err = fmt.Errorf("%w: %v message with %d, want %d", errUnexpectedFDs, t, len(files), t.numFDs())
	}
	if err != nil {
		dropFiles(files)
		return nil, err
	}
	return files, nil
}

// newFiles makes received descriptors into files. Only a msgRun carries
// descriptors, so three are named as its stdin, stdout and stderr.
func newFiles(fds []int) []*os.File {
	files := make([]*os.File, len(fds))
	for i, fd := range fds {
		name := "received fd"
		if len(fds) == len(runFDNames) {
			name = runFDNames[i]
		}
		files[i] = os.NewFile(uintptr(fd), name)
	}
	return files
}

// dropFiles closes files, which the caller owns and no longer wants.
func dropFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// dropFDs closes every descriptor not yet attached to a frame.
func (c *controlConn) dropFDs() {
	for _, b := range c.pending {
		dropFiles(b.files)
	}
	c.pending = nil
}

// close closes the connection and any received descriptors not yet
// returned by readMsg. It waits for a readMsg in progress to return.
func (c *controlConn) close() error {
	err := c.conn.Close()
	c.rmu.Lock()
	c.dropFDs()
	if c.err == nil {
		c.err = net.ErrClosed
	}
	c.rmu.Unlock()
	return err
}

// exchangeHello is both sides of the hello: each sends its own first, so
// the exchange takes one round trip, and a side learns the peer's version
// even when they differ. If the peer speaks another protocol version, it
// returns the peer's hello and a *VersionMismatchError; the connection
// still carries a msgControl, which a master of any version accepts.
func exchangeHello(c *controlConn, program string) (hello, error) {
	ours := hello{Version: protocolVersion, Program: program, PID: os.Getpid()}
	if err := c.writeMsg(msgHello, ours); err != nil {
		return hello{}, err
	}
	t, body, _, err := c.readMsg()
	if err != nil {
		return hello{}, fmt.Errorf("read hello: %w", err)
	}
	if t != msgHello {
		return hello{}, fmt.Errorf("%w: got %v, want hello", errBadFrame, t)
	}
	var theirs hello
	if err := json.Unmarshal(body, &theirs); err != nil {
		return hello{}, fmt.Errorf("%w: hello: %v", errBadFrame, err)
	}
	if theirs.Version != protocolVersion {
		return theirs, &VersionMismatchError{Ours: protocolVersion, Theirs: theirs.Version}
	}
	return theirs, nil
}
