package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// gnuplot charts; each writes one PNG into docs/bench and returns its markdown.

func (m *mdWriter) plot(name, script string) string {
	out := filepath.Join(m.dir, name)
	full := fmt.Sprintf("set terminal pngcairo size 1000,520 font 'DejaVu Sans,10' noenhanced\nset output '%s'\n%s\n", out, script)
	r, err := Cmd{Args: []string{"gnuplot"}, Stdin: nil, Capture: true, Timeout: time.Minute}.runScript(full)
	if err != nil {
		logf("gnuplot %s: %v %s", name, err, r)
		return ""
	}
	return fmt.Sprintf("![%s](bench/%s)", strings.TrimSuffix(name, ".png"), name)
}

// runScript runs gnuplot with the script in a file.
func (c Cmd) runScript(script string) (string, error) {
	f, err := os.CreateTemp("", "mycr-bench-*.gp")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	f.WriteString(script)
	f.Close()
	c.Args = append(c.Args, f.Name())
	res, err := c.Run()
	return res.Output, err
}

// barData writes a gnuplot datablock: label, then median,min,max per series.
func barData(name string, labels []string, series [][]*Series) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "$%s << EOD\n", name)
	for i, l := range labels {
		fmt.Fprintf(&sb, "%q", l)
		for _, s := range series[i] {
			if s.ok() {
				lo, hi := s.spread()
				fmt.Fprintf(&sb, " %.3f %.3f %.3f", s.med(), lo, hi)
			} else {
				sb.WriteString(" NaN NaN NaN")
			}
		}
		sb.WriteString("\n")
	}
	sb.WriteString("EOD\n")
	return sb.String()
}

var colors = map[string]string{"mycr": "#1f77b4", "runc": "#ff7f0e", "crun": "#9467bd", "criu": "#2ca02c", "dd": "#7f7f7f",
	"directory": "#c7c7c7", "none": "#9467bd", "gzip": "#ff7f0e", "zstd": "#2ca02c"}

func color(who string) string {
	for k, v := range colors {
		if strings.HasPrefix(who, k) {
			return v
		}
	}
	return "#8c564b"
}

func clusteredPlot(title, ylabel, data string, names []string) string {
	var sb strings.Builder
	sb.WriteString(data)
	fmt.Fprintf(&sb, "set title %q\nset ylabel %q\nset style data histograms\nset style histogram errorbars gap 2 lw 1.2\n", title, ylabel)
	sb.WriteString("set style fill solid 0.85 border -1\nset key top left\nset grid ytics\nset yrange [0:*]\nset boxwidth 0.9\nset bars 0.4\n")
	sb.WriteString("plot ")
	for i, n := range names {
		if i > 0 {
			sb.WriteString(", ")
		}
		c := 2 + 3*i
		if i == 0 {
			fmt.Fprintf(&sb, "$D using %d:%d:%d:xtic(1) title %q lc rgb %q", c, c+1, c+2, n, color(n))
		} else {
			fmt.Fprintf(&sb, "'' using %d:%d:%d title %q lc rgb %q", c, c+1, c+2, n, color(n))
		}
	}
	sb.WriteString("\n")
	return sb.String()
}

func (m *mdWriter) plotSized(name, script string, w, h int) string {
	out := filepath.Join(m.dir, name)
	full := fmt.Sprintf("set terminal pngcairo size %d,%d font 'DejaVu Sans,10' noenhanced\nset output '%s'\n%s\n", w, h, out, script)
	r, err := Cmd{Args: []string{"gnuplot"}, Capture: true, Timeout: time.Minute}.runScript(full)
	if err != nil {
		logf("gnuplot %s: %v %s", name, err, r)
		return ""
	}
	return fmt.Sprintf("![%s](bench/%s)", strings.TrimSuffix(name, ".png"), name)
}

func nanZero(v float64) string {
	if math.IsNaN(v) {
		return "0"
	}
	return fmt.Sprintf("%.3f", v)
}

// plotLine is one series of a plot against memory size.
type plotLine struct {
	group, op, who, fs string
	title, color       string
	dash               int
}

// sizePlot draws median (min-max) of each line against the sizes, log-log.
func (m *mdWriter) sizePlot(name, title string, sizes []int, lines []plotLine, w, h int) string {
	var sb strings.Builder
	n := 0
	for i, l := range lines {
		fmt.Fprintf(&sb, "$L%d << EOD\n", i)
		for _, size := range sizes {
			if s := m.res.find(l.group, l.op, l.who, size, l.fs); s.ok() {
				lo, hi := s.spread()
				fmt.Fprintf(&sb, "%d %.3f %.3f %.3f\n", size, s.med()/1000, lo/1000, hi/1000)
				n++
			}
		}
		sb.WriteString("EOD\n")
	}
	if n == 0 {
		return ""
	}
	fmt.Fprintf(&sb, "set title %q\nset logscale xy 2\nset xlabel 'MiB'\nset ylabel 's'\nset grid\nset key top left\nset format y '%%g'\n", title)
	fmt.Fprintf(&sb, "set xrange [%g:%g]\nplot ", float64(sizes[0])/1.4, float64(sizes[len(sizes)-1])*1.4)
	for i, l := range lines {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "$L%d using 1:2:3:4 with yerrorlines title %q lc rgb %q dt %d lw 2 pt 7 ps 0.6", i, l.title, l.color, max(l.dash, 1))
	}
	sb.WriteString("\n")
	return m.plotSized(name, sb.String(), w, h)
}
