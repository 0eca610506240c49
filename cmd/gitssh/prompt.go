package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"

	"golang.org/x/term"
)

// defaultAskpass is where OpenSSH looks for an askpass program when
// SSH_ASKPASS is unset.
const defaultAskpass = "/usr/bin/ssh-askpass"

// errNoPrompt is a question nobody can answer: no terminal and no askpass.
var errNoPrompt = errors.New("no terminal and no askpass program to ask with")

// prompter asks the user through the terminal or an SSH_ASKPASS program,
// with OpenSSH's rules for choosing between them (SSH_ASKPASS_REQUIRE,
// DISPLAY).
type prompter struct {
	askpass string   // SSH_ASKPASS
	require string   // SSH_ASKPASS_REQUIRE: "", "prefer", "force" or "never"
	display bool     // DISPLAY or WAYLAND_DISPLAY is set
	tty     string   // the terminal device: defaultTTY but in tests
	env     []string // the askpass program's environment: the client's
}

// newPrompter asks with the settings in env, the environment gitssh was
// given, which is also the askpass program's.
func newPrompter(env map[string]string) *prompter {
	environ := make([]string, 0, len(env))
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	slices.Sort(environ)
	return &prompter{
		askpass: env["SSH_ASKPASS"],
		require: env["SSH_ASKPASS_REQUIRE"],
		display: env["DISPLAY"] != "" || env["WAYLAND_DISPLAY"] != "",
		tty:     defaultTTY,
		env:     environ,
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
		return runAskpass(askpass, prompt, echo, p.env)
	case "prefer":
		if _, err := os.Stat(askpass); err == nil || p.askpass != "" {
			return runAskpass(askpass, prompt, echo, p.env)
		}
	case "never":
		return readTTY(p.tty, prompt, echo)
	}
	answer, err := readTTY(p.tty, prompt, echo)
	if errors.Is(err, errNoTTY) && p.askpass != "" && p.display {
		return runAskpass(askpass, prompt, echo, p.env)
	}
	return answer, err
}

func runAskpass(program, prompt string, echo bool, env []string) (string, error) {
	cmd := exec.Command(program, prompt)
	cmd.Env = append([]string{}, env...) // never nil, which would mean ours
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

// readTTY asks on the terminal (openTTY), with echo off for secrets.
func readTTY(path, prompt string, echo bool) (string, error) {
	in, out, err := openTTY(path)
	if err != nil {
		return "", fmt.Errorf("%w: %w", errNoPrompt, errNoTTY)
	}
	defer in.Close()
	if out != in {
		defer out.Close()
	}
	if _, err := out.WriteString(prompt); err != nil {
		return "", err
	}
	if fd := int(in.Fd()); !echo && term.IsTerminal(fd) {
		secret, err := term.ReadPassword(fd)
		out.WriteString("\n") // the user's Enter was not echoed either
		if err != nil && len(secret) == 0 {
			return "", fmt.Errorf("read from terminal: %w", err)
		}
		return string(secret), nil
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read from terminal: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
