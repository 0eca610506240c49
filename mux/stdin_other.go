//go:build !unix

package mux

import (
	"io"
	"os"
)

// passedStdin is a command's stdin received from a client, as a plain
// reader. Systems other than Unix cannot pass descriptors, so no master
// there receives one and this type only keeps the master's code whole. It
// has no SetReadDeadline: runSession cannot interrupt a blocked read, so
// when the command ends that read is abandoned to its goroutine, which ends
// at the file's next EOF or error (Command.Stdin says so).
type passedStdin struct {
	f *os.File
}

func newPassedStdin(f *os.File) *passedStdin { return &passedStdin{f: f} }

func (p *passedStdin) Read(b []byte) (int, error) { return p.f.Read(b) }

// Close closes the file.
func (p *passedStdin) Close() error { return p.f.Close() }

var _ io.ReadCloser = (*passedStdin)(nil)
