//go:build unix

package main

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
)

// table is one scenario's part of the report.
type table struct {
	name   string
	intro  string
	header []string
	rows   [][]string
	notes  []string
	stderr []string // the most frequent stderr lines, per transport
	chart  []chartPoint
}

// chartPoint is one bar pair of the chart: a transport in a scenario.
type chartPoint struct {
	transport string
	value     float64 // seconds (or the scenario's own unit, see label)
	label     string  // the value as printed next to the bar
	conns     float64
	failures  float64 // median failed commands, shown with the label
}

// failed is the number of failures for a chart label.
func failed(ss []sample) float64 {
	return medOf(ss, func(s sample) float64 { return float64(s.failures) })
}

// report is the whole output.
type report struct {
	date     time.Time
	duration time.Duration
	info     []string
	reps     int
	quick    bool
	cmdline  string
	timeout  time.Duration
	tables   []table
}

func (r report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# gitssh benchmark\n\n")
	mode := "full"
	if r.quick {
		mode = "quick (smoke run, small sizes: not for conclusions)"
	}
	fmt.Fprintf(&b, "- date: %s (the run took %s)\n", r.date.Format("2006-01-02 15:04:05 MST"), r.duration.Round(time.Second))
	for _, l := range r.info {
		fmt.Fprintf(&b, "- %s\n", l)
	}
	fmt.Fprintf(&b, "- repetitions: %d per transport and scenario, %s; the transports run interleaved, their order rotated on every repetition; every number is the median over the repetitions (wall also shows [min–max])\n", r.reps, mode)
	fmt.Fprintf(&b, "- command: `%s`\n", r.cmdline)
	b.WriteString(`
Transports (GIT_SSH_COMMAND):

- **ssh**: plain OpenSSH, ` + "`ssh -F CFG`" + `.
- **ssh-cm**: OpenSSH multiplexing, ` + "`ssh -F CFG -o ControlMaster=auto -o ControlPath=TMP/cm-%C -o ControlPersist=60`" + `.
- **gitssh**: ` + "`GIT_SSH_COMMAND=gitssh -F CFG`" + ` only, its master's socket in GITSSH_CONTROL_DIR. git does not recognise the name gitssh, so it runs ` + "`gitssh -G ...`" + ` (its ssh-variant probe) before every command: one more process per git command, included in the times, as users get it without ` + "`ssh.variant`" + `.
- **gitssh-relay**: gitssh-setup with ` + "`GITSSH_RELAY=1`" + `: the client copies its stdio over the control socket in frames (as every command on Windows does) instead of passing the descriptors.
- **gitssh-setup**: gitssh as ` + "`gitssh --setup`" + ` leaves git: no GIT_SSH_COMMAND, a global git config (GIT_CONFIG_GLOBAL) written by ` + "`gitssh --setup`" + ` with ` + "`core.sshCommand = gitssh -F CFG`" + ` and ` + "`ssh.variant = ssh`" + `, so no probe.
- **local**: the floor: a stand-in ssh that ignores its options and runs the remote command locally with ` + "`sh -c`" + `; the same git work with no transport. *overhead* is a transport's time minus local's, per command.

Every run starts cold: the masters of ssh-cm and gitssh are stopped (` + "`ssh -O exit`, `gitssh -O exit`" + `) before and after each run. gitssh's learned limits (HOME/.cache/gitssh/limits.json) are kept between runs, as a user's would be: its first run against a server learns, later runs start knowing. *connections* are the "Connection from" lines sshd logged during the run, *authenticated* its "Accepted publickey" lines, *dropped* its "past MaxStartups" lines (dropped connections log no "Connection from"). *client CPU* is the median over commands of user+system time of git and the processes it waited for (the ssh client, gitssh's probe; for local also the server side, which runs in its place), from wait4's rusage; *master CPU* is the master's user+system time over the whole run (from /proc, 10 ms ticks) divided by the commands: the first ssh-cm client does its handshake before it forks the master, so it is in client CPU, where gitssh's master does it. *failures* are commands that exited non-zero (or timed out after ` + fmt.Sprintf("%.0f s", r.timeout.Seconds()) + `); *stderr lines* count everything the commands printed on stderr.

![chart](bench.svg)
`)
	for _, t := range r.tables {
		b.WriteString("\n")
		b.WriteString(t.markdown())
	}
	return b.String()
}

func (t table) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n%s\n\n", t.name, t.intro)
	if len(t.header) > 0 {
		b.WriteString(formatTable(t.header, t.rows))
	}
	if len(t.notes) > 0 {
		b.WriteString("\n")
		for _, n := range t.notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	if len(t.stderr) > 0 {
		b.WriteString("\nstderr (most frequent lines over all repetitions; digits shown as N):\n\n")
		for _, l := range t.stderr {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	return b.String()
}

// formatTable renders a markdown table with padded columns: the first
// left-aligned, the others right-aligned.
func formatTable(header []string, rows [][]string) string {
	width := make([]int, len(header))
	for i, h := range header {
		width[i] = max(3, len([]rune(h)))
	}
	for _, r := range rows {
		for i := range min(len(r), len(width)) {
			width[i] = max(width[i], len([]rune(r[i])))
		}
	}
	pad := func(s string, w int, left bool) string {
		n := w - len([]rune(s))
		if n <= 0 {
			return s
		}
		if left {
			return s + strings.Repeat(" ", n)
		}
		return strings.Repeat(" ", n) + s
	}
	var b strings.Builder
	line := func(cells []string) {
		b.WriteString("|")
		for i := range width {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			b.WriteString(" " + pad(c, width[i], i == 0) + " |")
		}
		b.WriteString("\n")
	}
	line(header)
	b.WriteString("|")
	for i, w := range width {
		if i == 0 {
			b.WriteString(" " + strings.Repeat("-", w) + " |")
		} else {
			b.WriteString(" " + strings.Repeat("-", w-1) + ": |")
		}
	}
	b.WriteString("\n")
	for _, r := range rows {
		line(r)
	}
	return b.String()
}

// median returns the median of vs (the mean of the middle two for an even
// count), NaN for none.
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// stat collects f over the samples of one transport.
func stat(ss []sample, f func(sample) float64) (med, lo, hi float64) {
	var vs []float64
	for _, s := range ss {
		vs = append(vs, f(s))
	}
	if len(vs) == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	return median(vs), slices.Min(vs), slices.Max(vs)
}

func medOf(ss []sample, f func(sample) float64) float64 {
	m, _, _ := stat(ss, f)
	return m
}

func wallSec(s sample) float64 { return s.wall.Seconds() }
func perCmdMS(s sample) float64 {
	if s.cmds == 0 {
		return math.NaN()
	}
	return s.wall.Seconds() * 1000 / float64(s.cmds)
}
func val(key string) func(sample) float64 {
	return func(s sample) float64 {
		v, ok := s.vals[key]
		if !ok {
			return math.NaN()
		}
		return v
	}
}

// num formats a count or a median of counts.
func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.1f", v)
	}
}

// ms formats milliseconds.
func ms(v float64) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.1f", v)
	}
}

// secs formats a duration in seconds.
func secs(v float64) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case v >= 10:
		return fmt.Sprintf("%.1f s", v)
	default:
		return fmt.Sprintf("%.2f s", v)
	}
}

// wallCell is "median [min–max]", or the median alone for one sample.
func wallCell(ss []sample) string {
	m, lo, hi := stat(ss, wallSec)
	if len(ss) < 2 {
		return secs(m)
	}
	return fmt.Sprintf("%s [%s–%s]", secs(m), strings.TrimSuffix(secs(lo), " s"), strings.TrimSuffix(secs(hi), " s"))
}

// ratio formats a/b as "1.23×".
func ratio(a, b float64) string {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// kib formats KiB as MiB.
func kib(v float64) string {
	if math.IsNaN(v) || v == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f MiB", v/1024)
}

// countTable is the table of the count scenarios: lsremote-seq,
// clone-par-*, push-mirror-seq.
func countTable(b *bench, sc *scenario, res results) table {
	t := table{name: sc.name, intro: sc.describe(b)}
	t.header = []string{"transport", "wall", "ms/cmd", "overhead ms/cmd", "overhead ÷ ssh-cm", "client CPU ms/cmd", "client CPU ÷ ssh-cm", "master CPU ms/cmd", "client+master CPU ÷ ssh-cm", "connections", "authenticated", "dropped", "failures", "stderr lines", "wall ÷ ssh-cm"}
	cm := medOf(res[tSSHCM], wallSec)
	local := medOf(res[tLocal], perCmdMS)
	cmOver := medOf(res[tSSHCM], perCmdMS) - local
	cmCPU := medOf(res[tSSHCM], val("client_cpu_ms"))
	cmAll := medOf(res[tSSHCM], cpuPerCmd)
	for _, name := range sc.transports {
		ss := res[name]
		if len(ss) == 0 {
			continue
		}
		per := medOf(ss, perCmdMS)
		over, overRatio := "—", "—"
		if name != tLocal {
			over = ms(per - local)
			overRatio = ratio(per-local, cmOver)
		}
		cpu := medOf(ss, val("client_cpu_ms"))
		master := medOf(ss, masterCPUPerCmd)
		all, allRatio := "—", "—"
		if name != tLocal {
			all = ms(master)
			allRatio = ratio(medOf(ss, cpuPerCmd), cmAll)
		}
		wall := medOf(ss, wallSec)
		conns := medOf(ss, func(s sample) float64 { return float64(s.conns) })
		t.rows = append(t.rows, []string{name, wallCell(ss), ms(per), over, overRatio, ms(cpu), ratio(cpu, cmCPU), all, allRatio,
			num(conns), num(medOf(ss, func(s sample) float64 { return float64(s.auth) })),
			num(medOf(ss, func(s sample) float64 { return float64(s.dropped) })),
			num(medOf(ss, func(s sample) float64 { return float64(s.failures) })),
			num(medOf(ss, func(s sample) float64 { return float64(s.stderrLines) })),
			ratio(wall, cm)})
		t.chart = append(t.chart, chartPoint{transport: name, value: wall, label: secs(wall), conns: conns, failures: failed(ss)})
	}
	t.notes = append(t.notes, gitsshNotes(res)...)
	t.stderr = stderrSummary(b, sc.transports, res)
	return t
}

// masterCPUPerCmd is a run's master CPU time per command, in ms (0 for a
// transport without a master).
func masterCPUPerCmd(s sample) float64 {
	if s.cmds == 0 {
		return math.NaN()
	}
	return s.vals["master_cpu_ms"] / float64(s.cmds)
}

// cpuPerCmd is client CPU per command plus master CPU per command, in ms.
func cpuPerCmd(s sample) float64 { return val("client_cpu_ms")(s) + masterCPUPerCmd(s) }

// gitsshNotes describes what the gitssh master reported.
func gitsshNotes(res results) []string {
	var out []string
	for _, name := range []string{tGitssh, tGitsshSetup, tGitsshRelay} {
		if n := gitsshNote(name, res[name]); n != "" {
			out = append(out, n)
		}
	}
	return out
}

func gitsshNote(name string, ss []sample) string {
	if len(ss) == 0 {
		return ""
	}
	var dials, limits []string
	for _, s := range ss {
		dials = append(dials, num(s.vals["dials"]))
		l := "none"
		if s.vals["limit"] > 0 {
			l = num(s.vals["limit"])
		}
		limits = append(limits, l)
	}
	return fmt.Sprintf("%s master per run (in run order): connections dialled %s; learned channel limit %s.", name, strings.Join(dials, ", "), strings.Join(limits, ", "))
}

func latencyTable(b *bench, sc *scenario, res results) table {
	t := table{name: sc.name, intro: sc.describe(b)}
	rtt := float64(2*oneWayDelay) / float64(time.Millisecond)
	t.header = []string{"transport", "ms/cmd", fmt.Sprintf("round trips (ms ÷ %.0f)", rtt), "round trips above local", "round trips above local ÷ ssh-cm", "floor (round trips)", "client CPU ms/cmd", "connections", "failures", "stderr lines", "ms ÷ ssh-cm"}
	cm := medOf(res[tSSHCM], val("cmd_ms"))
	local := medOf(res[tLocal], val("cmd_ms"))
	for _, name := range sc.transports {
		ss := res[name]
		if len(ss) == 0 {
			continue
		}
		m := medOf(ss, val("cmd_ms"))
		above, aboveRatio, floor := "—", "—", "—"
		switch name {
		case tLocal:
			floor = "0"
		case tSSHCM:
			floor = "4" // the channel open, then gitssh's 3
		case tGitssh, tGitsshSetup, tGitsshRelay:
			floor = "3" // on a warm channel: exec, ls-refs, exit status
		}
		if name != tLocal {
			above = fmt.Sprintf("%.1f", (m-local)/rtt)
			aboveRatio = ratio(m-local, cm-local)
		}
		conns := medOf(ss, func(s sample) float64 { return float64(s.conns) })
		t.rows = append(t.rows, []string{name, ms(m), fmt.Sprintf("%.1f", m/rtt), above, aboveRatio, floor, ms(medOf(ss, val("client_cpu_ms"))),
			num(conns),
			num(medOf(ss, func(s sample) float64 { return float64(s.failures) })),
			num(medOf(ss, func(s sample) float64 { return float64(s.stderrLines) })),
			ratio(m, cm)})
		t.chart = append(t.chart, chartPoint{transport: name, value: m / 1000, label: ms(m) + " ms", conns: conns, failures: failed(ss)})
	}
	t.notes = append(t.notes,
		"connections include the warm-up command; plain ssh connects once per command.",
		"the floor: the exec (answered together with the capability advertisement), ls-refs, and the server's exit status and channel close after git's last packet (git waits for the ssh process, which waits for the status): 3 round trips on a channel opened ahead (gitssh's warm channel), 4 where the command opens its channel (ssh-cm). What is above the floor is mostly the server starting git-upload-pack.")
	t.stderr = stderrSummary(b, sc.transports, res)
	return t
}

func largeTable(b *bench, sc *scenario, res results) table {
	t := table{name: sc.name, intro: sc.describe(b)}
	t.header = []string{"transport", "wall", "MiB/s", "MiB/s ÷ ssh", "connections", "failures", "stderr lines", "master peak RSS", "wall ÷ ssh-cm"}
	size := float64(b.largeBytes) / (1 << 20)
	tput := func(s sample) float64 { return size / s.wall.Seconds() }
	cm := medOf(res[tSSHCM], wallSec)
	sshT := medOf(res[tSSH], tput)
	for _, name := range sc.transports {
		ss := res[name]
		if len(ss) == 0 {
			continue
		}
		wall := medOf(ss, wallSec)
		tp := medOf(ss, tput)
		conns := medOf(ss, func(s sample) float64 { return float64(s.conns) })
		t.rows = append(t.rows, []string{name, wallCell(ss), fmt.Sprintf("%.0f", tp), ratio(tp, sshT),
			num(conns),
			num(medOf(ss, func(s sample) float64 { return float64(s.failures) })),
			num(medOf(ss, func(s sample) float64 { return float64(s.stderrLines) })),
			kib(medOf(ss, val("master_rss_kib"))),
			ratio(wall, cm)})
		t.chart = append(t.chart, chartPoint{transport: name, value: wall, label: secs(wall), conns: conns, failures: failed(ss)})
	}
	t.notes = append(t.notes, fmt.Sprintf("repository size: %.1f MiB of packs; MiB/s is that size over the wall time of the whole clone (index-pack included, as local shows).", size))
	t.stderr = stderrSummary(b, sc.transports, res)
	return t
}

func rssTable(b *bench, sc *scenario, res results) table {
	t := table{name: sc.name, intro: sc.describe(b)}
	t.header = []string{"transport", "wall", "connections", "dropped", "failures", "stderr lines", "master peak RSS", "client peak RSS (median)", "clients' private memory (sum)", "clients + master"}
	for _, name := range sc.transports {
		ss := res[name]
		if len(ss) == 0 {
			continue
		}
		wall := medOf(ss, wallSec)
		master := medOf(ss, val("master_rss_kib"))
		anon := medOf(ss, val("client_anon_sum_kib"))
		total := medOf(ss, func(s sample) float64 { return s.vals["client_anon_sum_kib"] + s.vals["master_rss_kib"] })
		conns := medOf(ss, func(s sample) float64 { return float64(s.conns) })
		t.rows = append(t.rows, []string{name, wallCell(ss), num(conns),
			num(medOf(ss, func(s sample) float64 { return float64(s.dropped) })),
			num(medOf(ss, func(s sample) float64 { return float64(s.failures) })),
			num(medOf(ss, func(s sample) float64 { return float64(s.stderrLines) })),
			kib(master), kib(medOf(ss, val("client_rss_kib"))), kib(anon), kib(total)})
		t.chart = append(t.chart, chartPoint{transport: name, value: wall, label: secs(wall), conns: conns, failures: failed(ss)})
	}
	t.notes = append(t.notes, "peak RSS counts shared pages (libraries, the binary's text) in every process, so clients' memory is summed as private memory (the largest RssAnon of each); *clients + master* adds the master's peak RSS. The gitssh client is the process git runs; its master serves every client.")
	t.notes = append(t.notes, gitsshNotes(res)...)
	t.stderr = stderrSummary(b, sc.transports, res)
	return t
}

var (
	hexRE   = regexp.MustCompile(`[0-9a-f]{16,}`)
	digitRE = regexp.MustCompile(`[0-9]+`)
)

// normalizeLine makes stderr lines of different runs comparable.
func normalizeLine(tmp, l string) string {
	if tmp != "" {
		l = strings.ReplaceAll(l, tmp, "$TMP")
	}
	l = hexRE.ReplaceAllString(l, "H")
	l = digitRE.ReplaceAllString(l, "N")
	if r := []rune(l); len(r) > 160 {
		l = string(r[:160]) + "…"
	}
	return l
}

// stderrSummary lists, per transport, the three most frequent stderr
// lines over all repetitions.
func stderrSummary(b *bench, order []string, res results) []string {
	var out []string
	for _, name := range order {
		counts := map[string]int{}
		for _, s := range res[name] {
			for l := range strings.Lines(s.stderrText) {
				if l = strings.TrimSpace(l); l != "" {
					counts[normalizeLine(b.tmp, l)]++
				}
			}
		}
		type lc struct {
			line string
			n    int
		}
		var lcs []lc
		for l, n := range counts {
			lcs = append(lcs, lc{l, n})
		}
		slices.SortFunc(lcs, func(a, b lc) int {
			return cmp.Or(cmp.Compare(b.n, a.n), strings.Compare(a.line, b.line))
		})
		for i, x := range lcs {
			if i == 3 {
				out = append(out, fmt.Sprintf("%s: … %d more distinct lines", name, len(lcs)-3))
				break
			}
			out = append(out, fmt.Sprintf("%s: %d× `%s`", name, x.n, strings.ReplaceAll(x.line, "`", "'")))
		}
	}
	return out
}
