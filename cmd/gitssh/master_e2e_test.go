//go:build linux

package main

// The master's control socket against another user: run as root, the test
// starts a real master (the gitssh binary, re-executed as it is in use)
// and then runs clients as uid 65534 (nobody). The rest of the isolation
// story (directory and socket modes, one connection per identity) is in
// testdata/mux_isolation.txtar.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitssh/gitssh/internal/testworld"
)

// otherUID is the user the test impersonates: nobody on Linux.
const otherUID = 65534

// rawClientEnv makes the test binary, run as TestRawControlClientHelper,
// the raw client: it connects to the socket named by rawClientSocketEnv,
// sends a hello and "-O check" as the protocol's frames, and prints what
// came back. It uses none of package mux, so none of its client-side
// checks: only the master's own check can keep it out.
const (
	rawClientEnv       = "GITSSH_E2E_RAW_CLIENT"
	rawClientSocketEnv = "GITSSH_E2E_RAW_CLIENT_SOCKET"
)

// rawClientMark starts the raw client's line of output, a rawClientResult
// in JSON; the test framework prints its own lines around it.
const rawClientMark = "raw-client-result: "

// rawClientResult is what the raw client prints.
type rawClientResult struct {
	Connected bool   `json:"connected"`
	ConnErr   string `json:"conn_err,omitempty"`
	Received  int    `json:"received"` // bytes the master sent
	Reply     string `json:"reply,omitempty"`
	Closed    bool   `json:"closed"` // the master closed the connection
	ReadErr   string `json:"read_err,omitempty"`
}

func TestRawControlClientHelper(t *testing.T) {
	if os.Getenv(rawClientEnv) != "1" {
		return // only as a child of TestControlSocketOtherUser
	}
	var res rawClientResult
	c, err := net.DialTimeout("unix", os.Getenv(rawClientSocketEnv), 5*time.Second)
	if err != nil {
		res.ConnErr = err.Error()
	} else {
		res.Connected = true
		var out []byte
		for _, f := range []struct {
			typ  byte
			body string
		}{
			{1, fmt.Sprintf(`{"version":1,"program":"e2e-raw-client","pid":%d}`, os.Getpid())}, // hello
			{6, `{"command":"check"}`}, // control
		} {
			out = binary.BigEndian.AppendUint32(out, uint32(1+len(f.body)))
			out = append(out, f.typ)
			out = append(out, f.body...)
		}
		c.Write(out) // a refused client may see EPIPE; what it reads is what counts
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(c)
		res.Received, res.Reply = len(got), string(bytes.ToValidUTF8(got, []byte("?")))
		switch {
		case err == nil, errors.Is(err, syscall.ECONNRESET):
			res.Closed = true
		default:
			res.ReadErr = err.Error()
		}
		c.Close()
	}
	b, _ := json.Marshal(res)
	fmt.Printf("%s%s\n", rawClientMark, b)
}

func TestControlSocketOtherUser(t *testing.T) {
	if os.Getuid() != 0 {
		if testworld.Strict() {
			t.Fatalf("CI or GITSSH_E2E=1 is set but the tests do not run as root: running a client as uid %d needs root", otherUID)
		}
		t.Skipf("running a client as uid %d needs root (CI runs this as root)", otherUID)
	}

	// Everything up to the binaries is readable and searchable by others,
	// so that only the control directory's own mode and the master's
	// peer check stand between uid 65534 and the socket.
	base, err := os.MkdirTemp("", "gitssh-e2e-iso")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	bin := filepath.Join(base, "bin")
	home := filepath.Join(base, "home")
	ctl := filepath.Join(base, "ctl")
	for _, d := range []string{base, bin, home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	gitssh := filepath.Join(bin, "gitssh") // testscript.Main runs gitsshMain for this name
	helper := filepath.Join(bin, "e2e-helper")
	copyExecutable(t, self, gitssh)
	copyExecutable(t, self, helper)

	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"GITSSH_CONTROL_DIR=" + ctl,
		"LC_ALL=C",
	}
	nobody := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: otherUID, Gid: otherUID, Groups: []uint32{}}}
	run := func(attr *syscall.SysProcAttr, extraEnv []string, name string, args ...string) (status int, stdout, stderr string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env = append(append([]string(nil), env...), extraEnv...)
		cmd.Dir = base
		cmd.SysProcAttr = attr
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		done := make(chan error, 1)
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		go func() { done <- cmd.Wait() }()
		select {
		case err = <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatalf("%s %s: still running after 30s\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), o.String(), e.String())
		}
		status = 0
		if err != nil {
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("%s: %v", name, err)
			}
			status = ee.ExitCode()
		}
		t.Logf("%s %s: status %d\nstdout: %s\nstderr: %s", filepath.Base(name), strings.Join(args, " "), status, o.String(), e.String())
		return status, o.String(), e.String()
	}

	// A command starts the user's master. Its server refuses the
	// connection; the master stays.
	port, err := testworld.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	if st, _, _ := run(nil, nil, gitssh, "-F", "/dev/null", "-o", "BatchMode=yes", "-p", strconv.Itoa(port), "127.0.0.1", "true"); st != 255 {
		t.Fatalf("command against a closed port: status %d, want 255", st)
	}
	st, _, errOut := run(nil, nil, gitssh, "-O", "check")
	var pid int
	if _, err := fmt.Sscanf(errOut, "Master running (pid=%d)", &pid); st != 0 || err != nil {
		t.Fatalf("gitssh -O check after a command: status %d, %q; want 0 and a pid", st, errOut)
	}
	t.Cleanup(func() {
		// Started by this test (through gitssh): end it by its pid.
		syscall.Kill(pid, syscall.SIGTERM)
		for deadline := time.Now().Add(5 * time.Second); testworld.Running(pid) && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		if testworld.Running(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})

	sock := filepath.Join(ctl, "master.sock")
	checkMode(t, ctl, fs.ModeDir|0o700)
	checkMode(t, sock, fs.ModeSocket|0o600)
	logPath := filepath.Join(ctl, "master.log")
	logBefore := readFile(t, logPath)

	t.Run("other uid with gitssh", func(t *testing.T) {
		st, out, errOut := run(nobody, nil, gitssh, "-O", "check")
		if st != 255 {
			t.Errorf("gitssh -O check as uid %d: status %d, want 255", otherUID, st)
		}
		if strings.Contains(out+errOut, "Master running") {
			t.Errorf("gitssh -O check as uid %d reached the master: %q", otherUID, out+errOut)
		}
		if logNow := readFile(t, logPath); logNow != logBefore {
			t.Errorf("the master logged a request from uid %d:\n%s", otherUID, strings.TrimPrefix(logNow, logBefore))
		}
	})

	t.Run("other uid through an opened-up directory", func(t *testing.T) {
		// The directory and the socket opened on purpose: now the kernel
		// lets uid 65534 connect, and only the master's peer check is left.
		if err := os.Chmod(ctl, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(sock, 0o777); err != nil {
			t.Fatal(err)
		}
		defer func() {
			os.Chmod(ctl, 0o700)
			os.Chmod(sock, 0o600)
		}()
		helperEnv := []string{rawClientEnv + "=1", rawClientSocketEnv + "=" + sock}
		helperArgs := []string{"-test.run=^TestRawControlClientHelper$", "-test.count=1"}

		// The raw client as the user: the master answers, so the probe
		// can tell an answer from silence.
		_, out, _ := run(nil, helperEnv, helper, helperArgs...)
		own := parseRawResult(t, out)
		if !own.Connected || own.Received == 0 || !strings.Contains(own.Reply, `"ok":true`) {
			t.Fatalf("raw client as the master's own user: %+v; want connected and the master's reply", own)
		}

		_, out, _ = run(nobody, helperEnv, helper, helperArgs...)
		other := parseRawResult(t, out)
		switch {
		case !other.Connected:
			t.Fatalf("raw client as uid %d could not connect (%s): the test needs the kernel to let it in", otherUID, other.ConnErr)
		case other.Received != 0:
			t.Errorf("master answered uid %d with %d bytes: %q", otherUID, other.Received, other.Reply)
		case !other.Closed:
			t.Errorf("master kept uid %d's connection open without answering (%s); want it closed", otherUID, other.ReadErr)
		}
		log := readFile(t, logPath)
		if !strings.Contains(log, "refusing control client") || !strings.Contains(log, "uid "+strconv.Itoa(otherUID)) {
			t.Errorf("master.log has no refusal of uid %d:\n%s", otherUID, log)
		}
	})

	// The master is unharmed.
	if st, _, errOut := run(nil, nil, gitssh, "-O", "check"); st != 0 || !strings.Contains(errOut, "pid="+strconv.Itoa(pid)) {
		t.Errorf("gitssh -O check at the end: status %d, %q; want the same master", st, errOut)
	}
}

func parseRawResult(t *testing.T, out string) rawClientResult {
	t.Helper()
	var res rawClientResult
	_, line, ok := strings.Cut(out, rawClientMark)
	line, _, _ = strings.Cut(line, "\n")
	if !ok {
		t.Fatalf("raw client printed no result: %q", out)
	}
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		t.Fatalf("raw client output %q: %v", out, err)
	}
	return res
}

func copyExecutable(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(to, 0o755); err != nil {
		t.Fatal(err)
	}
}

func checkMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode() & (fs.ModeType | fs.ModePerm); got != want {
		t.Errorf("%s: mode %v, want %v", path, got, want)
	}
	if uid := fi.Sys().(*syscall.Stat_t).Uid; int(uid) != os.Getuid() {
		t.Errorf("%s: owner uid %d, want %d", path, uid, os.Getuid())
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
