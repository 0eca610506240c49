//go:build unix

package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gitssh/gitssh/internal/testworld"
)

// scenario is one workload, run through several transports.
type scenario struct {
	name       string
	world      string // the ssh_config alias the commands use
	transports []string
	// repos is how many of the shared repositories r1.git ... it needs.
	repos func(sizes) int
	// describe says what the scenario does, for the report.
	describe func(b *bench) string
	// prepare runs once before the repetitions (not timed).
	prepare func(ctx context.Context, b *bench) error
	// before runs before each measured run (not timed).
	before func(ctx context.Context, b *bench, rep int) error
	// run is the measured work. It fills wall, cmds, failures and vals;
	// the driver counts connections, stderr lines and the master's RSS.
	run func(ctx context.Context, b *bench, t *transport, r *runEnv) sample
	// table makes the report's table from the samples.
	table func(b *bench, sc *scenario, res results) table
}

// runEnv is what one measured run may use.
type runEnv struct {
	rep    int
	dir    string   // an empty directory for this run's output
	stderr *os.File // every command's stderr (appended)
}

// sample is what one run of one transport measured.
type sample struct {
	wall        time.Duration
	cmds        int
	failures    int
	conns       int // TCP connections sshd served ("Connection from")
	auth        int // connections that authenticated ("Accepted publickey")
	dropped     int // connections sshd dropped past MaxStartups
	stderrLines int
	stderrText  string
	vals        map[string]float64
}

// results are the samples of every transport of a scenario, in run order.
type results map[string][]sample

func scenarioNames() []string {
	var names []string
	for _, sc := range scenarios() {
		names = append(names, sc.name)
	}
	return names
}

func scenarios() []*scenario {
	withLocal := allTransports
	// master-rss-64 runs the ssh command directly, without git: gitssh
	// and gitssh-setup would be the same (the relay is not).
	noLocal := []string{tSSH, tSSHCM, tGitssh, tGitsshRelay}
	return []*scenario{
		{
			name: "lsremote-seq", world: aliasMS10, transports: withLocal,
			repos: func(sz sizes) int { return sz.lsRepos },
			describe: func(b *bench) string {
				return fmt.Sprintf("%d sequential `git ls-remote` of different repositories (protocol v2, git's default).", b.sz.lsRepos)
			},
			run: func(ctx context.Context, b *bench, t *transport, r *runEnv) sample {
				return b.sequential(ctx, r, b.sz.lsRepos, func(i int) cmdSpec {
					return b.gitCmd(t, r, "", "ls-remote", b.repoURL(aliasMS10, i))
				})
			},
			table: countTable,
		},
		cloneParScenario("clone-par-ms10", aliasMS10, 10),
		cloneParScenario("clone-par-ms1", aliasMS1, 1),
		{
			name: "push-mirror-seq", world: aliasMS10, transports: withLocal,
			repos: func(sizes) int { return 1 },
			describe: func(b *bench) string {
				return fmt.Sprintf("%d sequential `git push --mirror` to bare repositories on the server; before every run (not timed) each source gets one new commit, so every push sends one commit.", b.sz.pushRepos)
			},
			prepare: func(ctx context.Context, b *bench) error {
				for _, d := range []string{"pushsrc", "pushdst"} {
					if _, err := testworld.MakeRepos(filepath.Join(b.tmp, d), b.sz.pushRepos); err != nil {
						return err
					}
				}
				return nil
			},
			before: func(ctx context.Context, b *bench, rep int) error {
				b.pushSerial++
				for i := 1; i <= b.sz.pushRepos; i++ {
					if err := addCommit(ctx, b, filepath.Join(b.tmp, "pushsrc", fmt.Sprintf("r%d.git", i)), b.pushSerial); err != nil {
						return err
					}
				}
				return nil
			},
			run: func(ctx context.Context, b *bench, t *transport, r *runEnv) sample {
				return b.sequential(ctx, r, b.sz.pushRepos, func(i int) cmdSpec {
					src := filepath.Join(b.tmp, "pushsrc", fmt.Sprintf("r%d.git", i))
					dst := fmt.Sprintf("%s:%s/pushdst/r%d.git", aliasMS10, b.tmp, i)
					return b.gitCmd(t, r, src, "push", "-q", "--mirror", dst)
				})
			},
			table: countTable,
		},
		{
			name: "latency-25ms", world: aliasSlow, transports: withLocal,
			repos: func(sz sizes) int { return sz.latencyCmds + 1 },
			describe: func(b *bench) string {
				return fmt.Sprintf("`git -c protocol.version=2 ls-remote` through an in-process TCP proxy that delays every chunk by %v each way (one round trip = %v). After one warm-up command (so that ssh-cm and gitssh hold their connection), %d sequential commands are timed one by one; the median is shown. On an open channel a command needs 3 round trips (exec, ls-refs, exit status); one to open the channel comes first unless it was opened ahead. Plain ssh has no warm state: every command pays TCP, key exchange and authentication.", oneWayDelay, 2*oneWayDelay, b.sz.latencyCmds)
			},
			run: func(ctx context.Context, b *bench, t *transport, r *runEnv) sample {
				warm := b.runCmd(ctx, b.gitCmd(t, r, "", "-c", "protocol.version=2", "ls-remote", b.repoURL(aliasSlow, 1)))
				s := b.sequential(ctx, r, b.sz.latencyCmds, func(i int) cmdSpec {
					return b.gitCmd(t, r, "", "-c", "protocol.version=2", "ls-remote", b.repoURL(aliasSlow, i+1))
				})
				if warm.code != 0 {
					s.failures++
				}
				return s
			},
			table: latencyTable,
		},
		{
			name: "clone-large", world: aliasMS10, transports: withLocal,
			repos: func(sizes) int { return 1 },
			describe: func(b *bench) string {
				return fmt.Sprintf("one `git clone --bare` of a generated repository of %s of incompressible blobs (random bytes, %d files in %d commits): throughput.", mib(b.largeBytes), largeCommits*largeFilesPerCommit, largeCommits)
			},
			prepare: makeLargeRepo,
			run: func(ctx context.Context, b *bench, t *transport, r *runEnv) sample {
				return b.sequential(ctx, r, 1, func(int) cmdSpec {
					return b.gitCmd(t, r, "", "clone", "-q", "--bare", aliasMS10+":"+filepath.Join(b.tmp, "large.git"), filepath.Join(r.dir, "large.git"))
				})
			},
			table: largeTable,
		},
		{
			name: "master-rss-64", world: aliasMS10, transports: noLocal,
			repos: func(sizes) int { return 1 },
			describe: func(b *bench) string {
				return fmt.Sprintf("%d simultaneous `SSH gitserver 'sleep %s'` (no git): the master's peak RSS (VmHWM of the gitssh master, from `gitssh -O status-json`; of the OpenSSH ControlMaster, from `ssh -O check`) and the clients' peak RSS (VmHWM and RssAnon of each client, polled every 25 ms while it runs; getrusage's ru_maxrss is useless here, as Linux carries the Go parent's high-water mark across the vfork+exec). sshd allows 10 sessions per connection and MaxStartups 10:30:100.", b.sz.rssChannels, b.sz.rssSleep)
			},
			run: func(ctx context.Context, b *bench, t *transport, r *runEnv) sample {
				argv := append(append([]string(nil), t.argv...), aliasMS10, "sleep "+b.sz.rssSleep)
				return b.parallel(ctx, r, b.sz.rssChannels, b.sz.rssChannels, func(int) cmdSpec {
					return cmdSpec{argv: argv, env: append(slices.Clone(b.baseEnv), t.env...), stdout: b.devNull, stderr: r.stderr, pollRSS: true}
				})
			},
			table: rssTable,
		},
	}
}

func cloneParScenario(name, alias string, maxSessions int) *scenario {
	return &scenario{
		name: name, world: alias, transports: allTransports,
		repos: func(sz sizes) int { return sz.clones },
		describe: func(b *bench) string {
			return fmt.Sprintf("%d `git clone` of different repositories, %d at a time, against sshd with MaxSessions %d (MaxStartups at its default, 10:30:100).", b.sz.clones, b.sz.cloneJobs, maxSessions)
		},
		run: func(ctx context.Context, b *bench, t *transport, r *runEnv) sample {
			return b.parallel(ctx, r, b.sz.clones, b.sz.cloneJobs, func(i int) cmdSpec {
				return b.gitCmd(t, r, "", "clone", "-q", b.repoURL(alias, i), filepath.Join(r.dir, fmt.Sprintf("c%d", i)))
			})
		},
		table: countTable,
	}
}

// repoURL is the scp-like URL of shared repository i (1-based).
func (b *bench) repoURL(alias string, i int) string {
	return fmt.Sprintf("%s:%s/r%d.git", alias, b.repos, i)
}

// gitCmd is "git ARGS" through t, in dir (or the run's directory).
func (b *bench) gitCmd(t *transport, r *runEnv, dir string, args ...string) cmdSpec {
	if dir == "" {
		dir = r.dir
	}
	return cmdSpec{argv: append([]string{"git"}, args...), env: b.env(t), dir: dir, stdout: b.devNull, stderr: r.stderr}
}

// sequential runs n commands one after the other.
func (b *bench) sequential(ctx context.Context, r *runEnv, n int, cmd func(i int) cmdSpec) sample {
	s := sample{vals: map[string]float64{}}
	var ms, cpu []float64
	start := time.Now()
	for i := 1; i <= n && ctx.Err() == nil; i++ {
		res := b.runCmd(ctx, cmd(i))
		s.cmds++
		ms = append(ms, durMS(res.dur))
		cpu = append(cpu, durMS(res.cpu))
		if res.code != 0 {
			s.failures++
		}
	}
	s.wall = time.Since(start)
	s.vals["cmd_ms"] = median(ms)
	s.vals["client_cpu_ms"] = median(cpu)
	return s
}

// parallel runs n commands, jobs at a time.
func (b *bench) parallel(ctx context.Context, r *runEnv, n, jobs int, cmd func(i int) cmdSpec) sample {
	s := sample{vals: map[string]float64{}}
	next := make(chan int, n)
	for i := 1; i <= n; i++ {
		next <- i
	}
	close(next)
	var mu sync.Mutex
	var rss, cpu []float64
	var anonSum float64
	var panicked any
	var wg sync.WaitGroup
	start := time.Now()
	for range min(jobs, n) {
		wg.Go(func() {
			defer func() {
				if p := recover(); p != nil {
					mu.Lock()
					panicked = p
					mu.Unlock()
				}
			}()
			for i := range next {
				if ctx.Err() != nil {
					return
				}
				res := b.runCmd(ctx, cmd(i))
				mu.Lock()
				s.cmds++
				cpu = append(cpu, durMS(res.cpu))
				if res.code != 0 {
					s.failures++
				}
				if res.maxRSS > 0 {
					rss = append(rss, float64(res.maxRSS))
					anonSum += float64(res.maxAnon)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	s.wall = time.Since(start)
	if panicked != nil {
		panic(panicked)
	}
	if len(cpu) > 0 {
		s.vals["client_cpu_ms"] = median(cpu)
	}
	if len(rss) > 0 {
		s.vals["client_rss_kib"] = median(rss)
		s.vals["client_anon_sum_kib"] = anonSum
	}
	return s
}

// addCommit adds a commit with a new file to branch main of the bare
// repository at path.
func addCommit(ctx context.Context, b *bench, path string, serial int) error {
	msg := fmt.Sprintf("bench push %d\n", serial)
	content := fmt.Sprintf("push %d of %s\n", serial, filepath.Base(path))
	stream := fmt.Sprintf("commit refs/heads/main\ncommitter bench <bench@example.com> %d +0000\ndata %d\n%sfrom refs/heads/main^0\nM 644 inline push%d.txt\ndata %d\n%s\n",
		1700000000+serial, len(msg), msg, serial, len(content), content)
	cmd := exec.CommandContext(ctx, "git", "--git-dir="+path, "fast-import", "--quiet")
	cmd.Env = b.baseEnv
	cmd.Stdin = strings.NewReader(stream)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("add a commit to %s: %v\n%s", path, err, out)
	}
	return nil
}

const (
	largeCommits        = 3
	largeFilesPerCommit = 4
)

// makeLargeRepo writes large.git: largeCommits commits of
// largeFilesPerCommit files of random bytes, b.sz.largeMiB in all. It is
// made once per run and shared by every transport.
func makeLargeRepo(ctx context.Context, b *bench) error {
	path := filepath.Join(b.tmp, "large.git")
	b.logf("generating %d MiB of incompressible blobs in %s", b.sz.largeMiB, path)
	if out, err := exec.CommandContext(ctx, "git", "init", "-q", "--bare", "--initial-branch=main", path).CombinedOutput(); err != nil {
		return fmt.Errorf("git init: %v\n%s", err, out)
	}
	// unpackLimit 0: keep fast-import's pack (a dozen objects would
	// otherwise be exploded into loose ones, which upload-pack would have
	// to compress on every clone).
	cmd := exec.CommandContext(ctx, "git", "-c", "fastimport.unpackLimit=0", "-c", "pack.compression=1", "-c", "core.compression=1", "--git-dir="+path, "fast-import", "--quiet")
	cmd.Env = b.baseEnv
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	fileSize := int64(b.sz.largeMiB) << 20 / (largeCommits * largeFilesPerCommit)
	werr := func() error {
		defer stdin.Close()
		buf := make([]byte, 1<<20)
		for c := 1; c <= largeCommits; c++ {
			msg := fmt.Sprintf("large commit %d\n", c)
			fmt.Fprintf(stdin, "commit refs/heads/main\ncommitter bench <bench@example.com> %d +0000\ndata %d\n%s", 1700000000+c, len(msg), msg)
			for f := 1; f <= largeFilesPerCommit; f++ {
				if _, err := fmt.Fprintf(stdin, "M 644 inline blob-%d-%d.bin\ndata %d\n", c, f, fileSize); err != nil {
					return err
				}
				for left := fileSize; left > 0; {
					n := min(left, int64(len(buf)))
					rand.Read(buf[:n])
					if _, err := stdin.Write(buf[:n]); err != nil {
						return err
					}
					left -= n
				}
				io.WriteString(stdin, "\n")
			}
		}
		return nil
	}()
	if err := cmd.Wait(); err != nil || werr != nil {
		return fmt.Errorf("git fast-import: %v %v\n%s", err, werr, out.String())
	}
	packs, _ := filepath.Glob(filepath.Join(path, "objects", "pack", "*.pack"))
	for _, p := range packs {
		if fi, err := os.Stat(p); err == nil {
			b.largeBytes += fi.Size()
		}
	}
	if b.largeBytes < int64(b.sz.largeMiB)<<20*9/10 {
		return fmt.Errorf("generated %s has %d bytes of packs, want about %d MiB", path, b.largeBytes, b.sz.largeMiB)
	}
	return nil
}

func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }
