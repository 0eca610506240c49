//go:build unix

package mux

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// connPair returns the two ends of a connected Unix stream socket pair.
func connPair(t *testing.T) (a, b *net.UnixConn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	conns := make([]*net.UnixConn, 2)
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c.(*net.UnixConn)
		t.Cleanup(func() { c.Close() })
	}
	return conns[0], conns[1]
}

// controlPair returns two controlConns talking to each other.
func controlPair(t *testing.T) (a, b *controlConn) {
	t.Helper()
	ua, ub := connPair(t)
	a, b = newControlConn(ua), newControlConn(ub)
	t.Cleanup(func() { a.close(); b.close() })
	return a, b
}

// pipe returns an os.Pipe whose ends are closed at cleanup.
func pipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

func frame(t *testing.T, typ msgType, body string) []byte {
	t.Helper()
	b, err := appendFrame(nil, typ, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantClosedWriter checks that r sees EOF, that is that every copy of its
// pipe's write end, the one passed to the peer included, has been closed.
// The test's own write end must be closed first.
func wantClosedWriter(t *testing.T, r *os.File) {
	t.Helper()
	r.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [1]byte
	if n, err := r.Read(b[:]); err != io.EOF {
		t.Errorf("read from pipe = %d, %v; want EOF (the received descriptor was leaked)", n, err)
	}
}

func TestReadFrame(t *testing.T) {
	hello := []byte("\x00\x00\x00\x03\x01{}")
	tests := []struct {
		name     string
		buf      []byte
		wantType msgType
		wantBody string
		wantN    int
		wantErr  error
	}{
		{name: "empty", buf: nil},
		{name: "partial header", buf: []byte{0, 0, 0}},
		{name: "header only", buf: []byte{0, 0, 0, 3}},
		{name: "partial body", buf: hello[:6]},
		{name: "whole", buf: hello, wantType: msgHello, wantBody: "{}", wantN: 7},
		{name: "two frames", buf: append(append([]byte{}, hello...), hello...), wantType: msgHello, wantBody: "{}", wantN: 7},
		{name: "zero length", buf: []byte{0, 0, 0, 0}, wantErr: errBadFrame},
		{name: "type only", buf: []byte{0, 0, 0, 1, 1}, wantErr: errBadFrame},
		{name: "unknown type before body", buf: []byte{0, 0, 0, 9, 0x7f}, wantErr: errBadFrame},
		{name: "type zero", buf: []byte{0, 0, 0, 3, 0, '{', '}'}, wantErr: errBadFrame},
		{name: "not JSON", buf: []byte("\x00\x00\x00\x03\x01{x"), wantErr: errBadFrame},
		{name: "one over the limit", buf: []byte{0, 0x10, 0, 1}, wantErr: errFrameTooLarge},
		{name: "4 GiB", buf: []byte{0xff, 0xff, 0xff, 0xff}, wantErr: errFrameTooLarge},
		{name: "at the limit, incomplete", buf: []byte{0, 0x10, 0, 0, 1, '"'}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ, body, n, err := readFrame(tt.buf)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("readFrame(%q) error = %v, want %v", tt.buf, err, tt.wantErr)
			}
			if typ != tt.wantType || string(body) != tt.wantBody || n != tt.wantN {
				t.Errorf("readFrame(%q) = %v, %q, %d; want %v, %q, %d", tt.buf, typ, body, n, tt.wantType, tt.wantBody, tt.wantN)
			}
		})
	}
}

func TestReadFrameAtLimit(t *testing.T) {
	body := `"` + strings.Repeat("a", maxFrameLen-3) + `"`
	b := frame(t, msgExit, body)
	if _, got, n, err := readFrame(b); err != nil || n != len(b) || len(got) != maxFrameLen-1 {
		t.Errorf("readFrame(largest frame) = %d body bytes, n=%d, %v; want %d, %d, nil", len(got), n, err, maxFrameLen-1, len(b))
	}
	if _, err := appendFrame(nil, msgExit, []byte(body+" ")); !errors.Is(err, errFrameTooLarge) {
		t.Errorf("appendFrame(one byte over) error = %v, want %v", err, errFrameTooLarge)
	}
}

func TestReadFrameDoesNotAllocate(t *testing.T) {
	bufs := [][]byte{
		{0x00, 0x10, 0x00, 0x00, 0x02, '{'}, // a 1 MiB frame, incomplete
		[]byte("\x00\x00\x00\x03\x01{}"),
	}
	for _, buf := range bufs {
		if a := testing.AllocsPerRun(100, func() { readFrame(buf) }); a != 0 {
			t.Errorf("readFrame(%q) allocates %v times, want 0", buf, a)
		}
	}
}

func TestMessageRoundTrip(t *testing.T) {
	tests := []struct {
		typ  msgType
		body any
		into any
	}{
		{msgHello, hello{Version: 1, Program: "gitssh v1.2.3", PID: 42}, &hello{}},
		{msgRun, json.RawMessage(`{"command":"git-upload-pack '/r.git'"}`), &json.RawMessage{}},
		{msgPrompt, prompt{ID: 3, Echo: false, Text: "Enter passphrase for key '/k': "}, &prompt{}},
		{msgAnswer, answer{ID: 3, Text: "secret"}, &answer{}},
		{msgAnswer, answer{ID: 4, Err: "no terminal"}, &answer{}},
		{msgExit, exitMsg{Status: 128}, &exitMsg{}},
		{msgExit, exitMsg{Status: 255, NotStarted: true}, &exitMsg{}},
		{msgControl, controlReq{Command: "check"}, &controlReq{}},
		{msgControlReply, controlReply{OK: true, PID: 7, Status: &MasterStatus{PID: 7, Running: 2}}, &controlReply{}},
		{msgWindow, windowMsg{Stream: "stdout", N: 4096}, &windowMsg{}},
	}
	for _, tt := range tests {
		t.Run(tt.typ.String(), func(t *testing.T) {
			a, b := controlPair(t)
			var send, recv []*os.File
			if tt.typ == msgRun {
				for range 3 {
					r, w := pipe(t)
					send = append(send, w)
					recv = append(recv, r)
				}
			}
			if err := a.writeMsg(tt.typ, tt.body, send...); err != nil {
				t.Fatalf("writeMsg: %v", err)
			}
			typ, body, files, err := b.readMsg()
			if err != nil {
				t.Fatalf("readMsg: %v", err)
			}
			defer dropFiles(files)
			if typ != tt.typ || len(files) != len(send) {
				t.Fatalf("readMsg = %v with %d files, want %v with %d", typ, len(files), tt.typ, len(send))
			}
			if err := json.Unmarshal(body, tt.into); err != nil {
				t.Fatal(err)
			}
			got := reflect.ValueOf(tt.into).Elem().Interface()
			if diff := cmp.Diff(tt.body, got); diff != "" {
				t.Errorf("body (-sent +received):\n%s", diff)
			}
			// Each received descriptor is a working copy of the sent one.
			for i, f := range files {
				msg := "through " + f.Name()
				if _, err := f.Write([]byte(msg)); err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, len(msg))
				if _, err := io.ReadFull(recv[i], buf); err != nil || string(buf) != msg {
					t.Errorf("pipe %d read %q, %v; want %q", i, buf, err, msg)
				}
			}
		})
	}
}

// TestPassStdin passes a pipe's read end, as a client passes its stdin.
func TestPassStdin(t *testing.T) {
	a, b := controlPair(t)
	inR, inW := pipe(t)
	_, outW := pipe(t)
	_, errW := pipe(t)
	if err := a.writeMsg(msgRun, json.RawMessage(`{}`), inR, outW, errW); err != nil {
		t.Fatal(err)
	}
	_, _, files, err := b.readMsg()
	if err != nil {
		t.Fatal(err)
	}
	defer dropFiles(files)
	if files[0].Name() != "client stdin" {
		t.Errorf("files[0].Name() = %q, want %q", files[0].Name(), "client stdin")
	}
	if flags, err := unix.FcntlInt(files[0].Fd(), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("received descriptor flags = %#x, %v; want FD_CLOEXEC set", flags, err)
	}
	inW.Write([]byte("pack"))
	inW.Close()
	got, err := io.ReadAll(files[0])
	if err != nil || string(got) != "pack" {
		t.Errorf("read through passed stdin = %q, %v; want %q", got, err, "pack")
	}
}

// TestSplitAndCoalescedReads sends the same messages written and read in
// different pieces; the receiver must see the same messages with the
// descriptors on the msgRun.
func TestSplitAndCoalescedReads(t *testing.T) {
	msgs := []struct {
		typ  msgType
		body string
	}{
		{msgHello, `{"version":1,"program":"test","pid":1}`},
		{msgRun, `{"command":"git-receive-pack 'r'"}`},
		{msgAnswer, `{"id":1,"text":"yes"}`},
		{msgAnswer, `{"id":2,"text":"` + strings.Repeat("x", 3*minRead) + `"}`},
	}
	var stream []byte
	runAt := 0
	for _, m := range msgs {
		if m.typ == msgRun {
			runAt = len(stream)
		}
		stream = append(stream, frame(t, m.typ, m.body)...)
	}
	runEnd := runAt + len(frame(t, msgRun, msgs[1].body))

	tests := []struct {
		name      string
		readLimit int
		// writes are the stream offsets where each sendmsg ends; the one
		// that starts at rightsAt carries the descriptors.
		writes   []int
		rightsAt int
	}{
		{name: "one write per frame", writes: frameEnds(t, stream), rightsAt: runAt},
		{name: "one byte per read", readLimit: 1, writes: frameEnds(t, stream), rightsAt: runAt},
		{name: "three bytes per read", readLimit: 3, writes: frameEnds(t, stream), rightsAt: runAt},
		{name: "one byte per write", writes: byteEnds(len(stream)), rightsAt: runAt},
		{name: "one byte per write and read", readLimit: 1, writes: byteEnds(len(stream)), rightsAt: runAt},
		{name: "run frame split", readLimit: 5, writes: []int{runAt, runAt + 2, runAt + 9, len(stream)}, rightsAt: runAt},
		{name: "rights with the hello before the run", writes: []int{runEnd, len(stream)}, rightsAt: 0},
		{name: "everything in one write", writes: []int{len(stream)}, rightsAt: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ua, ub := connPair(t)
			b := newControlConn(ub)
			b.readLimit = tt.readLimit
			var pipes []*os.File
			var send []*os.File
			for range 3 {
				r, w := pipe(t)
				pipes = append(pipes, r)
				send = append(send, w)
			}
			oob, err := rightsOOB(send)
			if err != nil {
				t.Fatal(err)
			}
			// Write everything before reading, so that reads coalesce
			// whatever the kernel lets them.
			errc := make(chan error, 1)
			go func() {
				start := 0
				for _, end := range tt.writes {
					var o []byte
					if start == tt.rightsAt {
						o = oob
					}
					if _, _, err := ua.WriteMsgUnix(stream[start:end], o, nil); err != nil {
						errc <- err
						return
					}
					start = end
				}
				errc <- nil
			}()
			for i, m := range msgs {
				typ, body, files, err := b.readMsg()
				if err != nil {
					t.Fatalf("message %d: readMsg: %v", i, err)
				}
				if typ != m.typ || string(body) != m.body {
					t.Fatalf("message %d = %v %.40q, want %v %.40q", i, typ, body, m.typ, m.body)
				}
				if len(files) != m.typ.numFDs() {
					t.Fatalf("message %d (%v) has %d files, want %d", i, typ, len(files), m.typ.numFDs())
				}
				for j, f := range files {
					f.Write([]byte{byte('a' + j)})
					got := make([]byte, 1)
					if _, err := io.ReadFull(pipes[j], got); err != nil || got[0] != byte('a'+j) {
						t.Errorf("file %d: read %q, %v", j, got, err)
					}
					f.Close()
				}
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			ua.Close()
			if _, _, _, err := b.readMsg(); err != io.EOF {
				t.Errorf("readMsg at end = %v, want EOF", err)
			}
		})
	}
}

func frameEnds(t *testing.T, stream []byte) []int {
	var ends []int
	for off := 0; off < len(stream); {
		_, _, n, err := readFrame(stream[off:])
		if err != nil || n == 0 {
			t.Fatalf("frameEnds: %d, %v", n, err)
		}
		off += n
		ends = append(ends, off)
	}
	return ends
}

func byteEnds(n int) []int {
	ends := make([]int, n)
	for i := range ends {
		ends[i] = i + 1
	}
	return ends
}

// TestUnexpectedFDsClosed sends descriptors the receiver must not keep:
// it closes them and fails.
func TestUnexpectedFDsClosed(t *testing.T) {
	tests := []struct {
		name    string
		frames  []byte
		nfds    int
		wantErr error
	}{
		{name: "with a hello", frames: frame(t, msgHello, `{"version":1}`), nfds: 1, wantErr: errUnexpectedFDs},
		{name: "with an answer", frames: frame(t, msgAnswer, `{"id":1}`), nfds: 3, wantErr: errUnexpectedFDs},
		{name: "too few with a run", frames: frame(t, msgRun, `{}`), nfds: 1, wantErr: errUnexpectedFDs},
		{name: "too many with a run", frames: frame(t, msgRun, `{}`), nfds: 4, wantErr: errUnexpectedFDs},
		{name: "more than fit", frames: frame(t, msgRun, `{}`), nfds: maxRecvFDs + 2, wantErr: errUnexpectedFDs},
		{name: "with a bad frame", frames: []byte("\x00\x00\x00\x03\x02{x"), nfds: 3, wantErr: errBadFrame},
		{name: "with an oversized frame", frames: []byte("\x01\x00\x00\x00\x02{"), nfds: 3, wantErr: errFrameTooLarge},
		{name: "with a truncated frame", frames: []byte("\x00\x00\x00\x03\x02{"), nfds: 3, wantErr: io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ua, ub := connPair(t)
			b := newControlConn(ub)
			var readers, writers []*os.File
			for range tt.nfds {
				r, w := pipe(t)
				readers = append(readers, r)
				writers = append(writers, w)
			}
			oob, err := rightsOOB(writers)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := ua.WriteMsgUnix(tt.frames, oob, nil); err != nil {
				t.Fatal(err)
			}
			if tt.wantErr == io.ErrUnexpectedEOF {
				ua.Close()
			}
			typ, _, files, err := b.readMsg()
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("readMsg() = %v, %d files, %v; want error %v", typ, len(files), err, tt.wantErr)
			}
			dropFiles(files)
			for i := range writers {
				writers[i].Close()
				wantClosedWriter(t, readers[i])
			}
			// The error sticks.
			if _, _, _, err2 := b.readMsg(); !errors.Is(err2, tt.wantErr) {
				t.Errorf("second readMsg() error = %v, want %v", err2, tt.wantErr)
			}
		})
	}
}

// TestPendingFDsClosedOnClose: descriptors of a frame not yet complete are
// closed by close.
func TestPendingFDsClosedOnClose(t *testing.T) {
	ua, ub := connPair(t)
	b := newControlConn(ub)
	r, w := pipe(t)
	oob, err := rightsOOB([]*os.File{w, w, w})
	if err != nil {
		t.Fatal(err)
	}
	stream := append(frame(t, msgHello, `{}`), frame(t, msgRun, `{}`)[:6]...)
	if _, _, err := ua.WriteMsgUnix(stream, oob, nil); err != nil {
		t.Fatal(err)
	}
	if typ, _, _, err := b.readMsg(); err != nil || typ != msgHello {
		t.Fatalf("readMsg() = %v, %v; want hello", typ, err)
	}
	b.close()
	w.Close()
	wantClosedWriter(t, r)
}

func TestOversizedFrameRejectedEarly(t *testing.T) {
	a, b := controlPair(t)
	// Only the header is sent: the receiver must fail now, not wait for
	// 4 GiB.
	if _, err := a.conn.Write([]byte{0xff, 0xff, 0xff, 0xff, byte(msgRun)}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := b.readMsg(); !errors.Is(err, errFrameTooLarge) {
		t.Errorf("readMsg() error = %v, want %v", err, errFrameTooLarge)
	}
	big := strings.Repeat("x", maxFrameLen)
	if err := a.writeMsg(msgAnswer, answer{Text: big}); !errors.Is(err, errFrameTooLarge) {
		t.Errorf("writeMsg(oversized) error = %v, want %v", err, errFrameTooLarge)
	}
}

func TestWriteMsgChecksFDCount(t *testing.T) {
	a, _ := controlPair(t)
	_, w := pipe(t)
	if err := a.writeMsg(msgHello, hello{}, w); err == nil {
		t.Error("writeMsg(hello, 1 file) succeeded, want error")
	}
	if err := a.writeMsg(msgRun, json.RawMessage(`{}`), w); err == nil {
		t.Error("writeMsg(run, 1 file) succeeded, want error")
	}
}

// TestLargeFramesConcurrentWriters checks that frames from concurrent
// writers, large enough to need several reads and possibly several writes,
// arrive whole.
func TestLargeFramesConcurrentWriters(t *testing.T) {
	a, b := controlPair(t)
	const n = 8
	text := strings.Repeat("y", 300<<10)
	errc := make(chan error, n)
	for i := range n {
		go func() { errc <- a.writeMsg(msgPrompt, prompt{ID: i, Text: text}) }()
	}
	seen := map[int]bool{}
	for range n {
		typ, body, _, err := b.readMsg()
		if err != nil {
			t.Fatal(err)
		}
		var p prompt
		if err := json.Unmarshal(body, &p); err != nil || typ != msgPrompt || p.Text != text {
			t.Fatalf("readMsg() = %v, %d bytes, %v", typ, len(body), err)
		}
		seen[p.ID] = true
	}
	for range n {
		if err := <-errc; err != nil {
			t.Error(err)
		}
	}
	if len(seen) != n {
		t.Errorf("got %d distinct prompts, want %d", len(seen), n)
	}
	if len(b.buf) > maxReadBuf {
		t.Errorf("read buffer grew to %d bytes, limit %d", len(b.buf), maxReadBuf)
	}
}

func TestHello(t *testing.T) {
	tests := []struct {
		name        string
		peerVersion int
		wantErr     bool
	}{
		{name: "same version", peerVersion: protocolVersion},
		{name: "newer master", peerVersion: protocolVersion + 1, wantErr: true},
		{name: "no version", peerVersion: 0, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, master := controlPair(t)
			type result struct {
				h   hello
				err error
			}
			fromMaster := make(chan result, 1)
			go func() {
				// A master of peerVersion: its hello, then the client's.
				err := master.writeMsg(msgHello, hello{Version: tt.peerVersion, Program: "master", PID: 7})
				var h hello
				if err == nil {
					var body json.RawMessage
					_, body, _, err = master.readMsg()
					if err == nil {
						err = json.Unmarshal(body, &h)
					}
				}
				fromMaster <- result{h, err}
			}()
			got, err := exchangeHello(client, "client")
			var mismatch *VersionMismatchError
			if tt.wantErr {
				if !errors.As(err, &mismatch) || *mismatch != (VersionMismatchError{Ours: protocolVersion, Theirs: tt.peerVersion}) {
					t.Errorf("exchangeHello() error = %v, want VersionMismatchError{%d, %d}", err, protocolVersion, tt.peerVersion)
				}
			} else if err != nil {
				t.Errorf("exchangeHello() error = %v", err)
			}
			if want := (hello{Version: tt.peerVersion, Program: "master", PID: 7}); got != want {
				t.Errorf("exchangeHello() = %+v, want %+v", got, want)
			}
			r := <-fromMaster
			if want := (hello{Version: protocolVersion, Program: "client", PID: os.Getpid()}); r.err != nil || r.h != want {
				t.Errorf("master received %+v, %v; want %+v", r.h, r.err, want)
			}
			if mismatch != nil {
				// The connection still carries a control request.
				if err := client.writeMsg(msgControl, controlReq{Command: "stop"}); err != nil {
					t.Fatal(err)
				}
				if typ, _, _, err := master.readMsg(); err != nil || typ != msgControl {
					t.Errorf("after mismatch, master read %v, %v; want control", typ, err)
				}
			}
		})
	}
}

func TestServerAndClientHello(t *testing.T) {
	client, master := controlPair(t)
	type result struct {
		h   hello
		err error
	}
	done := make(chan result, 1)
	go func() {
		h, err := exchangeHello(master, "v-master")
		done <- result{h, err}
	}()
	h, err := exchangeHello(client, "v-client")
	if err != nil || h.Program != "v-master" || h.Version != protocolVersion {
		t.Errorf("exchangeHello() = %+v, %v", h, err)
	}
	r := <-done
	if r.err != nil || r.h.Program != "v-client" {
		t.Errorf("exchangeHello() = %+v, %v", r.h, r.err)
	}
}

func TestHelloRejectsOtherFirstMessage(t *testing.T) {
	client, master := controlPair(t)
	go master.writeMsg(msgExit, exitMsg{Status: 1})
	if _, err := exchangeHello(client, "c"); !errors.Is(err, errBadFrame) {
		t.Errorf("exchangeHello() error = %v, want %v", err, errBadFrame)
	}
}

func TestReadAfterPeerCloses(t *testing.T) {
	a, b := controlPair(t)
	a.conn.Write(frame(t, msgExit, `{"status":0}`)[:5])
	a.conn.Close()
	if _, _, _, err := b.readMsg(); err != io.ErrUnexpectedEOF {
		t.Errorf("readMsg() after a partial frame = %v, want %v", err, io.ErrUnexpectedEOF)
	}
	if _, _, _, err := b.readMsg(); err != io.ErrUnexpectedEOF {
		t.Errorf("second readMsg() = %v, want %v", err, io.ErrUnexpectedEOF)
	}
}

func TestWriteAfterPeerCloses(t *testing.T) {
	a, b := controlPair(t)
	b.conn.Close()
	err := a.writeMsg(msgExit, exitMsg{})
	if !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("writeMsg() to a closed peer = %v, want EPIPE", err)
	}
}

func FuzzReadFrame(f *testing.F) {
	// The seed corpus is in testdata/fuzz/FuzzReadFrame.
	f.Fuzz(func(t *testing.T, buf []byte) {
		typ, body, n, err := readFrame(buf)
		switch {
		case err != nil:
			if n != 0 || body != nil {
				t.Fatalf("readFrame error %v with n=%d, body=%q", err, n, body)
			}
			return
		case n == 0:
			if body != nil || typ != 0 {
				t.Fatalf("incomplete frame with type %v, body %q", typ, body)
			}
			if len(buf) >= headerLen+maxFrameLen {
				t.Fatalf("incomplete frame with %d bytes", len(buf))
			}
			return
		}
		if n > len(buf) || n > headerLen+maxFrameLen {
			t.Fatalf("n = %d, buffer %d bytes", n, len(buf))
		}
		if !typ.known() || (!typ.raw() && !json.Valid(body)) {
			t.Fatalf("accepted type %v, body %q", typ, body)
		}
		again, err := appendFrame(nil, typ, body)
		if err != nil || !bytes.Equal(again, buf[:n]) {
			t.Fatalf("re-encoded frame = %q, %v; want %q", again, err, buf[:n])
		}
	})
}
