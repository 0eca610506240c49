//go:build unix

package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

var transportColor = map[string]string{
	tSSH:         "#d62728",
	tSSHCM:       "#ff7f0e",
	tGitssh:      "#2ca02c",
	tGitsshSetup: "#1f77b4",
	tGitsshRelay: "#9467bd",
	tLocal:       "#8c8c8c",
}

// Geometry of the chart (pixels).
const (
	svgWidth    = 980
	svgNameX    = 150 // right edge of the transport names
	svgWallX    = 160 // where the wall bars start
	svgWallLen  = 300 // the longest wall bar
	svgConnX    = 610 // where the connection bars start
	svgConnLen  = 280 // log10 of the top decade
	svgTop      = 96  // first group
	svgRowH     = 17
	svgBarH     = 12
	svgGroupTop = 22 // group title above its rows
	svgGroupGap = 12
)

// svg draws the chart: one group per scenario, one row per transport, with
// two horizontal bars: wall time (scaled within the scenario, labelled with
// the median) and connections to sshd (log scale, labelled).
func (r report) svg() string {
	var groups []table
	for _, t := range r.tables {
		if len(t.chart) > 0 {
			groups = append(groups, t)
		}
	}
	height := svgTop + 30
	for _, g := range groups {
		height += svgGroupTop + len(g.chart)*svgRowH + svgGroupGap
	}

	// Connections share one log scale: log10(1+v), up to a power of 10.
	peak := 10.0
	for _, g := range groups {
		for _, p := range g.chart {
			if !math.IsNaN(p.conns) {
				peak = math.Max(peak, p.conns)
			}
		}
	}
	decades := math.Ceil(math.Log10(peak))
	connLen := func(v float64) float64 {
		if v <= 0 || math.IsNaN(v) {
			return 0
		}
		return math.Log10(1+v) / math.Log10(1+math.Pow(10, decades)) * svgConnLen
	}

	var b strings.Builder
	fmt.Fprintf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n", svgWidth, height, svgWidth, height)
	fmt.Fprintf(&b, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n")
	title := fmt.Sprintf("gitssh benchmark, %s, %d repetition(s), medians", r.date.Format("2006-01-02"), r.reps)
	if r.quick {
		title += " (quick smoke run)"
	}
	fmt.Fprintf(&b, "<text x=\"10\" y=\"24\" font-size=\"16\" font-weight=\"bold\">%s</text>\n", esc(title))
	x := 10
	for _, name := range allTransports {
		fmt.Fprintf(&b, "<rect x=\"%d\" y=\"36\" width=\"12\" height=\"12\" fill=\"%s\"/><text x=\"%d\" y=\"47\">%s</text>\n", x, transportColor[name], x+16, esc(name))
		x += 28 + 8*len(name)
	}
	fmt.Fprintf(&b, "<text x=\"%d\" y=\"72\" font-weight=\"bold\">wall time</text>", svgWallX)
	fmt.Fprintf(&b, "<text x=\"%d\" y=\"86\" font-size=\"10\" fill=\"#555\">bars scaled within each scenario; latency-25ms: per command</text>\n", svgWallX)
	fmt.Fprintf(&b, "<text x=\"%d\" y=\"72\" font-weight=\"bold\">connections to sshd</text>", svgConnX)
	fmt.Fprintf(&b, "<text x=\"%d\" y=\"86\" font-size=\"10\" fill=\"#555\">log scale</text>\n", svgConnX)
	// Decade grid of the connection bars.
	for d := 0.0; d <= decades; d++ {
		v := math.Pow(10, d)
		gx := float64(svgConnX) + connLen(v)
		fmt.Fprintf(&b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e4e4e4\"/>", gx, svgTop-4, gx, height-24)
		fmt.Fprintf(&b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"10\" fill=\"#555\">%.0f</text>\n", gx, height-10, v)
	}
	fmt.Fprintf(&b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>\n", svgConnX, svgTop-4, svgConnX, height-24)
	fmt.Fprintf(&b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>\n", svgWallX, svgTop-4, svgWallX, height-24)

	y := svgTop
	for _, g := range groups {
		fmt.Fprintf(&b, "<text x=\"10\" y=\"%d\" font-weight=\"bold\">%s</text>\n", y+14, esc(g.name))
		y += svgGroupTop
		wallPeak := 0.0
		for _, p := range g.chart {
			if !math.IsNaN(p.value) {
				wallPeak = math.Max(wallPeak, p.value)
			}
		}
		for _, p := range g.chart {
			color := transportColor[p.transport]
			fmt.Fprintf(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>", svgNameX, y+svgBarH-1, esc(p.transport))
			w := 0.0
			if wallPeak > 0 && !math.IsNaN(p.value) {
				w = p.value / wallPeak * svgWallLen
			}
			label := p.label
			if p.failures > 0 {
				label += fmt.Sprintf(", %s failed", num(p.failures))
			}
			hbar(&b, svgWallX, y, w, color, label)
			hbar(&b, svgConnX, y, connLen(p.conns), color, num(p.conns))
			y += svgRowH
		}
		y += svgGroupGap
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// hbar draws a horizontal bar from x0 on row y, labelled after its end.
func hbar(b *strings.Builder, x0, y int, w float64, color, label string) {
	fmt.Fprintf(b, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>", x0, y, w, svgBarH, color)
	fmt.Fprintf(b, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\">%s</text>\n", float64(x0)+w+5, y+svgBarH-1, esc(label))
}

func esc(s string) string { return html.EscapeString(s) }
