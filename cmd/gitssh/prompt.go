package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"golang.org/x/sys/unix"
)

// defaultAskpass is where OpenSSH looks for an askpass program when
// SSH_ASKPASS is unset.
const defaultAskpass = "/usr/bin/ssh-askpass"

// errNoPrompt is a question nobody can answer: no terminal and no askpass.
var errNoPrompt = errors.New("no terminal and no askpass program to ask with")

// prompter asks the user through /dev/tty or an SSH_ASKPASS program, with
// OpenSSH's rules for choosing between them (SSH_ASKPASS_REQUIRE, DISPLAY).
type prompter struct {
	askpass string // SSH_ASKPASS
	require string // SSH_ASKPASS_REQUIRE: "", "prefer", "force" or "never"
	display bool   // DISPLAY or WAYLAND_DISPLAY is set
	tty     string // the terminal device, normally /dev/tty
}

func newPrompter(env map[string]string) *prompter {
	return &prompter{
		askpass: env["SSH_ASKPASS"],
		require: env["SSH_ASKPASS_REQUIRE"],
		display: env["DISPLAY"] != "" || env["WAYLAND_DISPLAY"] != "",
		tty:     "/dev/tty",
	}
}

func (p *prompter) Secret(prompt string) (string, error)  { return p.ask(prompt, false) }
func (p *prompter) Confirm(prompt string) (string, error) { return p.ask(prompt, true) }

func (p *prompter) ask(prompt string, echo bool) (string, error) {
	askpass := p.askpass
	if askpass == "" {
		askpass = defaultAskpass
	}
	switch p.require {
	case "force":
		return runAskpass(askpass, prompt, echo)
	case "prefer":
		if _, err := os.Stat(askpass); err == nil || p.askpass != "" {
			return runAskpass(askpass, prompt, echo)
		}
	case "never":
		return readTTY(p.tty, prompt, echo)
	}
	answer, err := readTTY(p.tty, prompt, echo)
	if errors.Is(err, errNoTTY) && p.askpass != "" && p.display {
		return runAskpass(askpass, prompt, echo)
	}
	return answer, err
}

func runAskpass(program, prompt string, echo bool) (string, error) {
	cmd := exec.Command(program, prompt)
	cmd.Env = os.Environ()
	if echo {
		cmd.Env = append(cmd.Env, "SSH_ASKPASS_PROMPT=confirm")
	}
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("askpass %s: %w", program, err)
	}
	line, _, _ := bytes.Cut(out, []byte("\n"))
	return strings.TrimSuffix(string(line), "\r"), nil
}

var errNoTTY = errors.New("no terminal")

// readTTY asks on the controlling terminal, with echo off for secrets.
func readTTY(path, prompt string, echo bool) (string, error) {
	tty, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return "", fmt.Errorf("%w: %w", errNoPrompt, errNoTTY)
	}
	defer tty.Close()
	fd := int(tty.Fd())
	if !echo {
		old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err == nil {
			quiet := *old
			quiet.Lflag &^= unix.ECHO
			quiet.Lflag |= unix.ICANON | unix.ECHONL
			if unix.IoctlSetTermios(fd, unix.TCSETS, &quiet) == nil {
				defer unix.IoctlSetTermios(fd, unix.TCSETS, old)
			}
		}
	}
	if _, err := tty.WriteString(prompt); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(tty).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read from terminal: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
