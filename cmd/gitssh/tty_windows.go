package main

import "os"

// defaultTTY names the console: Windows has no /dev/tty, but a process
// attached to a console can open its input and output buffers by name,
// even when its stdio are pipes to git.
const defaultTTY = "CON"

// openTTY opens the console's input buffer (CONIN$) for the answer and its
// output buffer (CONOUT$) for the prompt. path is defaultTTY or a file that
// stands for the console in tests (then used for both).
func openTTY(path string) (in, out *os.File, err error) {
	if path != defaultTTY {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		return f, f, err
	}
	in, err = os.OpenFile("CONIN$", os.O_RDWR, 0)
	if err != nil {
		return nil, nil, err
	}
	out, err = os.OpenFile("CONOUT$", os.O_RDWR, 0)
	if err != nil {
		in.Close()
		return nil, nil, err
	}
	return in, out, nil
}
