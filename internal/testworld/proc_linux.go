package testworld

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// killTree kills pid and all its descendants. It first freezes the tree
// with SIGSTOP (so that no process forks a child we would miss), then
// kills every frozen process with SIGKILL. Errors are ignored: a process
// may exit on its own at any moment.
func killTree(pid int) {
	frozen := map[int]bool{pid: true}
	syscall.Kill(pid, syscall.SIGSTOP)
	for {
		added := false
		for _, p := range descendants(pid) {
			if !frozen[p] {
				frozen[p] = true
				syscall.Kill(p, syscall.SIGSTOP)
				added = true
			}
		}
		if !added {
			break
		}
	}
	for p := range frozen {
		syscall.Kill(p, syscall.SIGKILL)
	}
}

// descendants returns the pids of all descendants of pid, read from /proc.
func descendants(pid int) []int {
	children := map[int][]int{}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _, ok := procStat(p); ok {
			children[ppid] = append(children[ppid], p)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// procStat returns the parent pid and state letter of pid.
func procStat(pid int) (ppid int, state byte, ok bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// "pid (comm) S ppid ..."; comm may contain spaces and parentheses.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 || len(f[0]) != 1 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	return ppid, f[0][0], err == nil
}

func isZombie(pid int) bool {
	_, state, ok := procStat(pid)
	return ok && (state == 'Z' || state == 'X')
}

// KillMentioning kills (SIGTERM, then SIGKILL after two seconds) every
// process other than this one whose command line has an argument
// containing s, and describes each one it found as "PID: ARGV". Tests pass
// a directory only they use (a testscript $WORK) to end what their
// commands left running, such as a multiplexing master.
func KillMentioning(s string) ([]string, error) {
	if s == "" {
		return nil, errors.New("testworld: KillMentioning with an empty string")
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var found []string
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !mentionsPath(string(data), s) || isZombie(pid) {
			continue
		}
		pids = append(pids, pid)
		found = append(found, fmt.Sprintf("%d: %s", pid, strings.ReplaceAll(strings.TrimRight(string(data), "\x00"), "\x00", " ")))
		syscall.Kill(pid, syscall.SIGTERM)
	}
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		alive := false
		for _, pid := range pids {
			alive = alive || Running(pid)
		}
		if !alive {
			return found, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	return found, nil
}

// mentionsPath reports whether cmdline names path itself or something
// under it, not merely a longer name that starts the same way
// (".../script-a1" must not match ".../script-a10/x").
func mentionsPath(cmdline, path string) bool {
	for rest := cmdline; ; {
		i := strings.Index(rest, path)
		if i < 0 {
			return false
		}
		rest = rest[i+len(path):]
		if rest == "" || strings.ContainsRune("/\x00 '\"", rune(rest[0])) {
			return true
		}
	}
}
