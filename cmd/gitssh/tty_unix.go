//go:build unix

package main

import "os"

// defaultTTY is the controlling terminal, where prompts go.
const defaultTTY = "/dev/tty"

// openTTY opens the terminal at path for reading the answer and writing
// the prompt: on Unix one device does both.
func openTTY(path string) (in, out *os.File, err error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	return f, f, err
}
