//go:build unix

// The bench command measures gitssh against OpenSSH on the same workloads, side
// by side in one run:
//
//	go run ./scripts/bench [-quick] [-reps N] [-out DIR] [-only SCENARIO,...] [-keep]
//
// It builds gitssh, starts private sshd worlds on 127.0.0.1 (internal/testworld)
// and runs every scenario through five transports, interleaved (the order
// is rotated on every repetition):
//
//   - ssh: plain OpenSSH, GIT_SSH_COMMAND="ssh -F CFG";
//   - ssh-cm: OpenSSH with ControlMaster=auto, ControlPersist=60 (stopped
//     with "ssh -O exit" after every run, so each run starts cold);
//   - gitssh: "gitssh -F CFG" with its own master (stopped with
//     "gitssh -O exit" after every run; the learned limits file under
//     HOME/.cache/gitssh is kept, as a user's would be);
//   - gitssh-setup: the same gitssh as "gitssh --setup" leaves git: no
//     GIT_SSH_COMMAND, core.sshCommand and ssh.variant=ssh in a global git
//     config (GIT_CONFIG_GLOBAL), so git runs no "gitssh -G" probe;
//   - gitssh-relay: gitssh-setup with GITSSH_RELAY=1, stdio relayed over
//     the control socket as on Windows;
//   - local: a stand-in ssh that runs the remote command locally with
//     sh -c: the floor, the same git work with no transport at all.
//
// The scenarios are lsremote-seq, clone-par-ms10, clone-par-ms1,
// push-mirror-seq, latency-25ms, clone-large and master-rss-64 (see
// scenarios.go). It prints a markdown table per scenario and writes
// OUT/bench.md and OUT/bench.svg. A benchmark prints; it never passes or
// fails: a transport's failed commands are counted and shown.
//
// The machine should be quiet: the numbers of a busy machine mostly
// measure the other load. -quick is a smoke run with small sizes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the command-line flags.
type options struct {
	quick   bool
	reps    int
	out     string
	only    []string
	keep    bool
	timeout time.Duration
	cmdline string // as given, for the report
}

// sizes are the workload sizes of a run.
type sizes struct {
	lsRepos     int    // lsremote-seq: sequential ls-remotes
	clones      int    // clone-par-*: clones in all
	cloneJobs   int    // clone-par-*: at a time
	pushRepos   int    // push-mirror-seq
	latencyCmds int    // latency-25ms: timed commands after the warm-up
	largeMiB    int    // clone-large
	rssChannels int    // master-rss-64
	rssSleep    string // master-rss-64: seconds each remote command sleeps
}

var fullSizes = sizes{lsRepos: 100, clones: 200, cloneJobs: 16, pushRepos: 100, latencyCmds: 20, largeMiB: 300, rssChannels: 64, rssSleep: "2"}
var quickSizes = sizes{lsRepos: 20, clones: 40, cloneJobs: 16, pushRepos: 20, latencyCmds: 8, largeMiB: 30, rssChannels: 64, rssSleep: "1"}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opt options
	var only string
	fs.BoolVar(&opt.quick, "quick", false, "smoke run: 1 repetition, small sizes")
	fs.IntVar(&opt.reps, "reps", 0, "repetitions per scenario and transport (default 5; -quick: 1)")
	fs.StringVar(&opt.out, "out", "docs", "directory for bench.md and bench.svg")
	fs.StringVar(&only, "only", "", "comma-separated scenarios to run: "+strings.Join(scenarioNames(), ","))
	fs.BoolVar(&opt.keep, "keep", false, "keep the temporary directory (worlds, logs, stderr of every run)")
	fs.DurationVar(&opt.timeout, "timeout", 120*time.Second, "timeout of each command")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./scripts/bench [-quick] [-reps N] [-out DIR] [-only SCENARIO,...] [-keep]\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	if opt.reps == 0 {
		opt.reps = 5
		if opt.quick {
			opt.reps = 1
		}
	}
	if opt.reps < 1 || opt.reps > 100 {
		fmt.Fprintf(stderr, "bench: -reps must be between 1 and 100\n")
		return 2
	}
	for s := range strings.SplitSeq(only, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !slices.Contains(scenarioNames(), s) {
			fmt.Fprintf(stderr, "bench: unknown scenario %q (have %s)\n", s, strings.Join(scenarioNames(), ", "))
			return 2
		}
		opt.only = append(opt.only, s)
	}

	opt.cmdline = strings.TrimSpace("go run ./scripts/bench " + strings.Join(args, " "))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C ends the process at once
	}()

	b := &bench{opt: opt, sz: fullSizes, log: stderr}
	if opt.quick {
		b.sz = quickSizes
	}
	defer b.cleanup()
	report, err := b.run(ctx)
	if report != "" {
		fmt.Fprint(stdout, report)
	}
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "bench: interrupted\n")
			return 130
		}
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	return 0
}

// machineInfo describes the machine for the report header.
func machineInfo(b *bench) []string {
	var lines []string
	host, _ := os.Hostname()
	lines = append(lines, fmt.Sprintf("machine: %s, %d CPUs (nproc), %s memory, %s/%s, load average at start %s", host, runtime.NumCPU(), memTotal(), runtime.GOOS, runtime.GOARCH, loadAvg()))
	lines = append(lines, "OpenSSH: "+firstLine(output("ssh", "-V")))
	lines = append(lines, "git: "+firstLine(output("git", "--version")))
	lines = append(lines, "gitssh: "+firstLine(output(b.gitssh, "-V"))+", built with "+runtime.Version()+" and CGO_ENABLED=0 (static, as the README says)")
	return lines
}

func memTotal() string {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "unknown"
	}
	for l := range strings.Lines(string(data)) {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
			var kib float64
			fmt.Sscan(f[1], &kib)
			return fmt.Sprintf("%.1f GiB", kib/(1<<20))
		}
	}
	return "unknown"
}

func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// output runs a short command and returns its combined output.
func output(name string, args ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil && len(out) == 0 {
		return "unknown (" + err.Error() + ")"
	}
	return strings.TrimSpace(string(out))
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// writeOutputs writes bench.md and bench.svg into dir.
func writeOutputs(dir, md, svg string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return errors.Join(
		os.WriteFile(filepath.Join(dir, "bench.md"), []byte(md), 0o644),
		os.WriteFile(filepath.Join(dir, "bench.svg"), []byte(svg), 0o644),
	)
}
