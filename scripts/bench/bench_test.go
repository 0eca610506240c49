//go:build unix

package main

import (
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		in := append([]float64(nil), c.in...)
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
		for i := range in {
			if in[i] != c.in[i] {
				t.Errorf("median reordered its argument: %v", c.in)
			}
		}
	}
	if got := median(nil); !math.IsNaN(got) {
		t.Errorf("median(nil) = %v, want NaN", got)
	}
}

func TestRotate(t *testing.T) {
	s := []string{"a", "b", "c", "d"}
	for k, want := range []string{"abcd", "bcda", "cdab", "dabc", "abcd"} {
		if got := strings.Join(rotate(s, k), ""); got != want {
			t.Errorf("rotate(%v, %d) = %s, want %s", s, k, got, want)
		}
	}
	if strings.Join(s, "") != "abcd" {
		t.Errorf("rotate changed its argument: %v", s)
	}
}

func TestFormatTable(t *testing.T) {
	got := formatTable([]string{"transport", "wall"}, [][]string{{"ssh", "1.00 s"}, {"gitssh", "10.0 s"}})
	want := "" +
		"| transport |   wall |\n" +
		"| --------- | -----: |\n" +
		"| ssh       | 1.00 s |\n" +
		"| gitssh    | 10.0 s |\n"
	if got != want {
		t.Errorf("formatTable =\n%s\nwant\n%s", got, want)
	}
}

func TestFormatters(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{num(3), "3"},
		{num(2.5), "2.5"},
		{num(math.NaN()), "—"},
		{ms(230.4), "230"},
		{ms(27.84), "27.8"},
		{secs(4.567), "4.57 s"},
		{secs(12.34), "12.3 s"},
		{ratio(3, 2), "1.50×"},
		{ratio(1, 0), "—"},
		{kib(2048), "2.0 MiB"},
		{wallCell([]sample{{wall: 2 * time.Second}, {wall: time.Second}, {wall: 3 * time.Second}}), "2.00 s [1.00–3.00]"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestCountLines(t *testing.T) {
	for in, want := range map[string]int{"": 0, "a\n": 1, "a\nb": 2, "a\nb\n": 2} {
		if got := countLines([]byte(in)); got != want {
			t.Errorf("countLines(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestNormalizeLine(t *testing.T) {
	got := normalizeLine("/tmp/b.1", "ControlSocket /tmp/b.1/cm-0123456789abcdef0123 already exists on port 4242")
	want := "ControlSocket $TMP/cm-H already exists on port N"
	if got != want {
		t.Errorf("normalizeLine = %q, want %q", got, want)
	}
}

func TestStatCPU(t *testing.T) {
	// utime 150 and stime 25 ticks; comm holds a space and a parenthesis.
	line := "4242 (gitssh (x) y) S 1 4242 4242 0 -1 4194560 900 0 0 0 150 25 0 0 20 0 7 0 100 1000 200 18446744073709551615"
	if got, want := statCPU(line), 1750*time.Millisecond; got != want {
		t.Errorf("statCPU = %v, want %v", got, want)
	}
}

func TestShellQuote(t *testing.T) {
	tr := transport{argv: []string{"/tmp/x/ssh", "-o", "ControlPath=/tmp/x/cm-%C", "it's"}}
	if got, want := tr.sshCommand(), `/tmp/x/ssh -o ControlPath=/tmp/x/cm-%C 'it'\''s'`; got != want {
		t.Errorf("sshCommand = %s, want %s", got, want)
	}
}

func TestReportRenders(t *testing.T) {
	res := results{
		tSSH:         {{wall: 4 * time.Second, cmds: 20, conns: 20, auth: 20, failures: 1, stderrLines: 2, stderrText: "Connection closed by 127.0.0.1 port 22\nx\n", vals: map[string]float64{}}},
		tSSHCM:       {{wall: time.Second, cmds: 20, conns: 1, auth: 1, vals: map[string]float64{"master_rss_kib": 4000, "client_cpu_ms": 4, "master_cpu_ms": 20}}},
		tGitssh:      {{wall: time.Second, cmds: 20, conns: 1, auth: 1, vals: map[string]float64{"dials": 1, "limit": 8, "master_rss_kib": 13000, "client_cpu_ms": 6, "master_cpu_ms": 40}}},
		tGitsshSetup: {{wall: time.Second / 2, cmds: 20, conns: 1, auth: 1, vals: map[string]float64{"dials": 1, "limit": 8, "client_cpu_ms": 3, "master_cpu_ms": 40}}},
		tLocal:       {{wall: time.Second / 10, cmds: 20, vals: map[string]float64{}}},
	}
	b := &bench{sz: quickSizes, tmp: "/tmp/b.1", largeBytes: 30 << 20}
	sc := &scenario{name: "lsremote-seq", transports: allTransports, describe: func(*bench) string { return "what it does" }}
	r := report{date: time.Unix(0, 0), reps: 1, quick: true, cmdline: "go run ./scripts/bench -quick", timeout: time.Minute,
		tables: []table{countTable(b, sc, res), latencyTable(b, sc, res), largeTable(b, sc, res), rssTable(b, sc, res)}}
	md := r.markdown()
	for _, want := range []string{"## lsremote-seq", "| ssh          |", "4.00 s", "4.00×", "learned channel limit 8", "gitssh-setup master per run", "| gitssh-setup |", "0.75×", "ssh: 1× `Connection closed by N.N.N.N port N`"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	// The chart is well-formed XML.
	d := xml.NewDecoder(strings.NewReader(r.svg()))
	for {
		_, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("svg: %v", err)
		}
	}
}
