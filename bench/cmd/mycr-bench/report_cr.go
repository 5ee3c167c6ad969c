package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// phaseTable prints phase medians for (op, who) pairs as columns.
func (m *mdWriter) phaseTable(title string, ops, whos []string, skip func(string) bool) {
	type col struct {
		op, who string
		p       *PhaseSet
	}
	var cols []col
	for _, op := range ops {
		for _, w := range whos {
			for _, p := range m.res.Phases {
				if p.Op == op && p.Who == w && len(p.Phases) > 0 {
					cols = append(cols, col{op, w, p})
				}
			}
		}
	}
	if len(cols) == 0 {
		return
	}
	m.p("%s:", title)
	m.p("")
	hdr, sep := "| phase |", "|---|"
	for _, c := range cols {
		if len(ops) > 1 {
			hdr += " " + c.who + " " + c.op + " |"
		} else {
			hdr += " " + c.who + " |"
		}
		sep += "---|"
	}
	m.p("%s", hdr)
	m.p("%s", sep)
	var order []string
	seen := map[string]bool{}
	for _, c := range cols {
		for _, name := range c.p.Order {
			if !seen[name] {
				seen[name] = true
				order = append(order, name)
			}
		}
	}
	// log phases last
	sort.SliceStable(order, func(i, j int) bool {
		return !strings.HasPrefix(order[i], "log:") && strings.HasPrefix(order[j], "log:")
	})
	for _, name := range order {
		if skip != nil && skip(name) {
			continue
		}
		label := name
		if strings.HasPrefix(name, "  ") {
			label = "&nbsp;&nbsp;↳ " + strings.TrimSpace(name)
		} else if strings.HasPrefix(name, "log: ") {
			label = "CRIU log: " + strings.TrimPrefix(name, "log: ")
		}
		if name == "total" {
			label = "**total**"
		}
		line := "| " + label + " |"
		for _, c := range cols {
			v, ok := c.p.Phases[name]
			if !ok {
				line += " – |"
				continue
			}
			line += " " + fmtMs(median(v)) + " |"
		}
		m.p("%s", line)
	}
	counts := map[string]bool{}
	for _, c := range cols {
		for k := range c.p.Counts {
			counts[k] = true
		}
	}
	var ck []string
	for k := range counts {
		ck = append(ck, k)
	}
	sort.Strings(ck)
	for _, k := range ck {
		line := "| " + k + " (median count) |"
		for _, c := range cols {
			if v, ok := c.p.Counts[k]; ok {
				line += fmt.Sprintf(" %.0f |", medianInts(v))
			} else {
				line += " – |"
			}
		}
		m.p("%s", line)
	}
	m.p("")
}

// ---------------------------------------------------------------- checkpoint/restore

func (m *mdWriter) crVariants(group string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range m.res.Series {
		if s.Group == group && !seen[s.Who] {
			seen[s.Who] = true
			out = append(out, s.Who)
		}
	}
	return out
}

func (m *mdWriter) cr() {
	m.p("## 2. Checkpoint and restore of a busybox container")
	m.p("")
	m.p("*Idle*: busybox `sleep` (the process is asleep, the cgroup freezes at once). *Busy*: busybox `sh -c 'while :; do :; done'`")
	m.p("(always running, so freezing takes a scheduler round trip). Images go to a directory on disk. The")
	m.p("container is removed after each restore.")
	m.p("")
	for _, group := range []string{"cr-idle", "cr-busy"} {
		title := "Idle container"
		if group == "cr-busy" {
			title = "Busy container"
		}
		m.p("**%s**", title)
		m.p("")
		m.p("| variant | checkpoint | restore | image size | checkpoint / runc | restore / runc | loopback after restore |")
		m.p("|---|---|---|---|---|---|---|")
		runcC, runcR := m.s(group, "checkpoint", "runc"), m.s(group, "restore", "runc")
		for _, w := range m.crVariants(group) {
			c, r := m.s(group, "checkpoint", w), m.s(group, "restore", w)
			lo := "–"
			if group == "cr-idle" {
				if v, ok := m.res.Facts["loopback after restore: "+w]; ok {
					lo = v
				}
			}
			m.p("| %s | %s | %s | %s | %s | %s | %s |", w, cell(c), cell(r), fmtBytes(c.medBytes()), ratio(c, runcC), ratio(r, runcR), lo)
		}
		m.p("")
	}
	m.p("*mycr --empty-ns network* is mycr told to treat the network namespace as runc does by default (runc's")
	m.p("`checkpoint` and `restore` always add `--empty-ns network`: CRIU neither saves nor restores the")
	m.p("namespace's interfaces, addresses, routes and firewall rules). The *network-lock skip* variants run")
	m.p("the same container with a CRIU configuration file (annotation `org.criu.config`, which libcontainer")
	m.p("passes to CRIU) containing `network-lock skip`.")
	m.p("")
	labels := []string{"idle checkpoint", "idle restore", "busy checkpoint", "busy restore"}
	whos := []string{"mycr", "runc", "criu"}
	var series [][]*Series
	for _, l := range labels {
		g := "cr-" + strings.Fields(l)[0]
		op := strings.Fields(l)[1]
		var row []*Series
		for _, w := range whos {
			row = append(row, m.s(g, op, w))
		}
		series = append(series, row)
	}
	if img := m.plot("checkpoint-restore.png", clusteredPlot("Checkpoint and restore of a busybox container (median, min-max)", "ms", barData("D", labels, series), []string{"mycr", "runc", "criu (bare)"})); img != "" {
		m.p("%s", img)
		m.p("")
	}
	m.p("### Where the time goes")
	m.p("")
	m.p("Each traced checkpoint and restore split into the runtime's own work before, between and after its CRIU")
	m.p("runs, the CRIU runs (libcontainer starts `criu swrk` once for a VERSION request and once for the")
	m.p("operation), and inside CRIU the programs it runs (iptables for the network lock and the netns rules,")
	m.p("`ip` for addresses and routes, `tar | gzip` for the contents of every tmpfs mount). `CRIU log` rows are")
	m.p("CRIU's own timestamps. Medians over the runs, so columns do not add up exactly.")
	m.p("")
	idle := []string{"mycr", "runc", "criu", "mycr --empty-ns network", "mycr + network-lock skip", "runc + network-lock skip"}
	m.phaseTable("Checkpoint, idle container (ms)", []string{"checkpoint"}, idle, nil)
	m.phaseTable("Restore, idle container (ms)", []string{"restore"}, idle, nil)
	m.phaseTable("Checkpoint, busy container: CRIU's view (ms)", []string{"checkpoint (busy)"}, []string{"mycr", "runc", "criu"}, func(n string) bool {
		return !strings.HasPrefix(n, "log:") && n != "total" && n != "CRIU checkpoint"
	})
	m.toolsTable(idle)
	if img := m.breakdownPlot(); img != "" {
		m.p("%s", img)
		m.p("")
	}
}

func (m *mdWriter) toolsTable(whos []string) {
	m.p("Programs CRIU ran, per operation (median count of exec'd programs; names summed over all runs):")
	m.p("")
	m.p("| variant | checkpoint | restore |")
	m.p("|---|---|---|")
	for _, w := range whos {
		cells := []string{}
		for _, op := range []string{"checkpoint", "restore"} {
			p := m.findPhase(op, w)
			if p == nil || p.Runs == 0 {
				cells = append(cells, "–")
				continue
			}
			var names []string
			for k, v := range p.Tools {
				names = append(names, fmt.Sprintf("%s ×%d", k, v))
			}
			sort.Strings(names)
			cells = append(cells, fmt.Sprintf("%.0f per run (%s)", medianInts(p.Counts["programs run by CRIU"]), strings.Join(names, ", ")))
		}
		m.p("| %s | %s | %s |", w, cells[0], cells[1])
	}
	m.p("")
}

func (m *mdWriter) findPhase(op, who string) *PhaseSet {
	for _, p := range m.res.Phases {
		if p.Op == op && p.Who == who {
			return p
		}
	}
	return nil
}

func phaseMed(p *PhaseSet, name string) float64 {
	if p == nil {
		return math.NaN()
	}
	v, ok := p.Phases[name]
	if !ok {
		return math.NaN()
	}
	return median(v)
}

func (m *mdWriter) breakdownPlot() string {
	type bar struct{ label, op, who string }
	bars := []bar{
		{"mycr\\ncheckpoint", "checkpoint", "mycr"}, {"runc\\ncheckpoint", "checkpoint", "runc"}, {"criu\\ndump", "checkpoint", "criu"},
		{"mycr\\nrestore", "restore", "mycr"}, {"runc\\nrestore", "restore", "runc"}, {"criu\\nrestore", "restore", "criu"},
	}
	segs := []string{"runtime before CRIU", "CRIU version call(s)", "runtime between CRIU runs", "CRIU itself", "programs run by CRIU", "runtime after CRIU"}
	var sb strings.Builder
	sb.WriteString("$D << EOD\n")
	n := 0
	for _, b := range bars {
		p := m.findPhase(b.op, b.who)
		if p == nil || p.Runs == 0 {
			continue
		}
		n++
		crName := "CRIU " + b.op
		prog := phaseMed(p, "programs run by CRIU (part of CRIU "+b.op+")")
		vals := []float64{phaseMed(p, "runtime before CRIU"), phaseMed(p, "CRIU version call(s)"), phaseMed(p, "runtime between CRIU runs"),
			phaseMed(p, crName) - prog, prog, phaseMed(p, "runtime after CRIU")}
		fmt.Fprintf(&sb, "\"%s\"", b.label)
		for _, v := range vals {
			if math.IsNaN(v) || v < 0 {
				v = 0
			}
			fmt.Fprintf(&sb, " %.2f", v)
		}
		sb.WriteString("\n")
	}
	sb.WriteString("EOD\n")
	if n == 0 {
		return ""
	}
	sb.WriteString("set title 'Where checkpoint and restore spend their time (idle busybox, median ms)'\nset ylabel 'ms'\n")
	sb.WriteString("set style data histograms\nset style histogram rowstacked\nset style fill solid 0.85 border -1\nset boxwidth 0.6\nset key outside right top\nset grid ytics\nset yrange [0:*]\n")
	pal := []string{"#aec7e8", "#ffbb78", "#c5b0d5", "#2ca02c", "#98df8a", "#c7c7c7"}
	sb.WriteString("plot ")
	for i, s := range segs {
		if i > 0 {
			sb.WriteString(", ")
		}
		if i == 0 {
			fmt.Fprintf(&sb, "$D using %d:xtic(1) title %q lc rgb %q", i+2, s, pal[i])
		} else {
			fmt.Fprintf(&sb, "'' using %d title %q lc rgb %q", i+2, s, pal[i])
		}
	}
	sb.WriteString("\n")
	return m.plot("checkpoint-restore-breakdown.png", sb.String())
}
