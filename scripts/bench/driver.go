//go:build unix

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gitssh/gitssh/internal/testworld"
)

// run sets up, runs the selected scenarios and writes the report. It
// returns the report (possibly partial) and an error if it could not
// finish.
func (b *bench) run(ctx context.Context) (string, error) {
	var scs []*scenario
	for _, sc := range scenarios() {
		if len(b.opt.only) == 0 || slices.Contains(b.opt.only, sc.name) {
			scs = append(scs, sc)
		}
	}
	started := time.Now()
	if err := b.setup(ctx, scs); err != nil {
		return "", fmt.Errorf("setup: %w", err)
	}
	info := machineInfo(b)
	var tables []table
	var runErr error
	for _, sc := range scs {
		res, err := b.runScenario(ctx, sc)
		if ctx.Err() != nil {
			runErr = ctx.Err()
			break
		}
		if err != nil {
			// A scenario that cannot be set up is reported, not fatal.
			b.logf("%s: %v", sc.name, err)
			tables = append(tables, table{name: sc.name, intro: sc.describe(b), notes: []string{"not measured: " + err.Error()}})
			continue
		}
		tables = append(tables, sc.table(b, sc, res))
	}
	rep := report{
		date:     started,
		duration: time.Since(started),
		info:     info,
		reps:     b.opt.reps,
		quick:    b.opt.quick,
		cmdline:  b.opt.cmdline,
		timeout:  b.opt.timeout,
		tables:   tables,
	}
	md := rep.markdown()
	if runErr != nil {
		return md, runErr
	}
	if err := writeOutputs(b.opt.out, md, rep.svg()); err != nil {
		return md, err
	}
	b.logf("wrote %s and %s", filepath.Join(b.opt.out, "bench.md"), filepath.Join(b.opt.out, "bench.svg"))
	return md, nil
}

// sshdFor returns the server behind an alias.
func (b *bench) sshdFor(alias string) *testworld.SSHD {
	if alias == aliasMS1 {
		return b.ms1
	}
	return b.ms10
}

// rotate returns s rotated left by k.
func rotate[T any](s []T, k int) []T {
	if len(s) == 0 {
		return nil
	}
	k %= len(s)
	return append(slices.Clone(s[k:]), s[:k]...)
}

// runScenario runs every repetition of sc, the transports interleaved and
// their order rotated on every repetition.
func (b *bench) runScenario(ctx context.Context, sc *scenario) (results, error) {
	if sc.prepare != nil {
		if err := sc.prepare(ctx, b); err != nil {
			return nil, err
		}
	}
	res := results{}
	for rep := 0; rep < b.opt.reps; rep++ {
		for _, name := range rotate(sc.transports, rep) {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			s, err := b.runOnce(ctx, sc, b.transport(name), rep)
			if err != nil {
				return res, err
			}
			res[name] = append(res[name], s)
			b.logf("%-16s rep %d/%d %-7s wall %7.2fs  conns %3d  failures %3d  stderr %3d", sc.name, rep+1, b.opt.reps, name, s.wall.Seconds(), s.conns, s.failures, s.stderrLines)
		}
	}
	return res, nil
}

// runOnce is one measured run of sc through t, started cold: no master
// of any transport runs before it, and none after it.
func (b *bench) runOnce(ctx context.Context, sc *scenario, t *transport, rep int) (sample, error) {
	b.stopMasters()
	if sc.before != nil {
		if err := sc.before(ctx, b, rep); err != nil {
			return sample{}, err
		}
	}
	id := fmt.Sprintf("%s-%s-%d", sc.name, t.name, rep+1)
	r := &runEnv{rep: rep, dir: filepath.Join(b.workDir, id)}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return sample{}, err
	}
	errPath := filepath.Join(b.logDir, id+".stderr")
	var err error
	if r.stderr, err = os.OpenFile(errPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err != nil {
		return sample{}, err
	}
	logPath := b.sshdFor(sc.world).LogPath()
	before := fileSize(logPath)

	s := sc.run(ctx, b, t, r)

	r.stderr.Close()
	s.conns, s.auth, s.dropped = countLog(logPath, before)
	switch {
	case isGitssh(t.name):
		st := b.gitsshStatus()
		s.vals["master_rss_kib"] = float64(st.hwmKiB)
		s.vals["dials"] = float64(st.dials)
		s.vals["limit"] = float64(st.limit)
		s.vals["master_cpu_ms"] = durMS(st.cpu)
	case t.name == tSSHCM:
		st := b.sshCMStatus(sc.world)
		s.vals["master_rss_kib"] = float64(st.hwmKiB)
		s.vals["master_cpu_ms"] = durMS(st.cpu)
	}
	if data, err := os.ReadFile(errPath); err == nil {
		s.stderrLines = countLines(data)
		s.stderrText = string(data[:min(len(data), 64<<10)])
	}
	b.stopMasters()
	if err := os.RemoveAll(r.dir); err != nil {
		return s, err
	}
	return s, nil
}

func durMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// countLog counts, in sshd's log from offset on, the connections it
// served, the ones that authenticated and the ones it dropped past
// MaxStartups.
func countLog(path string, offset int64) (conns, auth, dropped int) {
	data, err := os.ReadFile(path)
	if err != nil || int64(len(data)) < offset {
		return 0, 0, 0
	}
	data = data[offset:]
	return bytes.Count(data, []byte("Connection from ")),
		bytes.Count(data, []byte("Accepted publickey for ")),
		bytes.Count(data, []byte("past MaxStartups"))
}

// countLines counts lines, a final line without a newline included.
func countLines(data []byte) int {
	n := bytes.Count(data, []byte("\n"))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return n
}
