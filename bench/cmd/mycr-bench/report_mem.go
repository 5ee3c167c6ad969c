package main

import (
	"fmt"
	"strings"
)

func (m *mdWriter) memory() {
	m.p("## 3. Memory scaling")
	m.p("")
	m.p("A static C program (`bench/workloads/memhog.c`) maps N MiB and writes into every page, then sleeps; the")
	m.p("container is checkpointed into a directory on a tmpfs or on disk (ext4 on virtio, page cache, no")
	m.p("fsync: CRIU does not sync its images either), restored from it, and removed. `dd` writes the same")
	m.p("number of bytes from /dev/zero to the same directory and reads them back (`dd read`) — the")
	m.p("copy-speed ceiling of that file system. `sync` runs (untimed) before each timed operation on disk.")
	m.p("Throughput is N MiB / time. runc is measured up to %s MiB (its numbers track mycr's; the target", m.res.Settings["mem_runc_max"])
	m.p("compares mycr with bare criu), to keep the whole bench within about 20 minutes.")
	m.p("")
	whos := []string{"mycr", "runc", "criu"}
	for _, fs := range []string{"tmpfs", "disk"} {
		m.p("**Images on %s**", fs)
		m.p("")
		m.p("| MiB | mycr checkpoint | runc checkpoint | criu dump | dd write | mycr restore | runc restore | criu restore | dd read | image size | mycr − criu (ckpt / restore) | mycr GiB/s (ckpt / restore) |")
		m.p("|---|---|---|---|---|---|---|---|---|---|---|---|")
		for _, size := range m.b.MemSizes {
			f := func(op, who string) *Series { return m.res.find("mem", op, who, size, fs) }
			line := fmt.Sprintf("| %d |", size)
			for _, w := range whos {
				line += " " + cell(f("checkpoint", w)) + " |"
			}
			line += " " + cell(f("dd write", "dd")) + " |"
			for _, w := range whos {
				line += " " + cell(f("restore", w)) + " |"
			}
			line += " " + cell(f("dd read", "dd")) + " |"
			line += " " + fmtBytes(f("checkpoint", "mycr").medBytes()) + " |"
			over := func(op string) string {
				a, c := f(op, "mycr"), f(op, "criu")
				if !a.ok() || !c.ok() {
					return "–"
				}
				return fmt.Sprintf("%+.0f ms (%+.0f %%)", a.med()-c.med(), (a.med()/c.med()-1)*100)
			}
			line += " " + over("checkpoint") + " / " + over("restore") + " |"
			tp := func(s *Series) string {
				if !s.ok() {
					return "–"
				}
				return fmt.Sprintf("%.2f", float64(size)/1024/(s.med()/1000))
			}
			line += " " + tp(f("checkpoint", "mycr")) + " / " + tp(f("restore", "mycr")) + " |"
			m.p("%s", line)
		}
		m.p("")
	}
	m.memOutsideCriu()
	if gib, ok := m.res.Facts["page_reporting_gib"]; ok {
		m.p("During this section the guest handed %s GiB of freed memory back to the host (virtio-balloon free", gib)
		m.p("page reporting); memory touched again after that is several times slower to fault in. To keep that")
		m.p("out of the comparison, the bench writes and deletes N+64 MiB in a tmpfs (untimed) right before every")
		m.p("timed checkpoint, restore and dd write, so that the memory the operation needs is warm; without it the")
		m.p("same checkpoint varied up to 4× between runs.")
		m.p("")
	}
	if img := m.memPlot(); img != "" {
		m.p("%s", img)
		m.p("")
	}
}

func (m *mdWriter) memPlot() string {
	var sb strings.Builder
	type line struct{ op, who, title string }
	panels := []struct {
		title string
		fs    string
		lines []line
	}{
		{"checkpoint, images on tmpfs", "tmpfs", []line{{"checkpoint", "mycr", "mycr"}, {"checkpoint", "runc", "runc"}, {"checkpoint", "criu", "criu dump"}, {"dd write", "dd", "dd write"}}},
		{"checkpoint, images on disk", "disk", []line{{"checkpoint", "mycr", "mycr"}, {"checkpoint", "runc", "runc"}, {"checkpoint", "criu", "criu dump"}, {"dd write", "dd", "dd write"}}},
		{"restore, images on tmpfs", "tmpfs", []line{{"restore", "mycr", "mycr"}, {"restore", "runc", "runc"}, {"restore", "criu", "criu restore"}, {"dd read", "dd", "dd read"}}},
		{"restore, images on disk", "disk", []line{{"restore", "mycr", "mycr"}, {"restore", "runc", "runc"}, {"restore", "criu", "criu restore"}, {"dd read", "dd", "dd read"}}},
	}
	any := false
	for pi, pn := range panels {
		for li, l := range pn.lines {
			fmt.Fprintf(&sb, "$P%d_%d << EOD\n", pi, li)
			for _, size := range m.b.MemSizes {
				s := m.res.find("mem", l.op, l.who, size, pn.fs)
				if s.ok() {
					lo, hi := s.spread()
					fmt.Fprintf(&sb, "%d %.3f %.3f %.3f\n", size, s.med()/1000, lo/1000, hi/1000)
					any = true
				}
			}
			sb.WriteString("EOD\n")
		}
	}
	if !any {
		return ""
	}
	sb.WriteString("set multiplot layout 2,2 title 'Time vs touched memory (median, min-max; log-log)'\n")
	sb.WriteString("set logscale xy 2\nset xlabel 'MiB'\nset ylabel 's'\nset grid\nset key top left\nset format y '%g'\n")
	fmt.Fprintf(&sb, "set xrange [%g:%g]\n", float64(m.b.MemSizes[0])/1.4, float64(m.b.MemSizes[len(m.b.MemSizes)-1])*1.4)
	for pi, pn := range panels {
		fmt.Fprintf(&sb, "set title %q\nplot ", pn.title)
		for li, l := range pn.lines {
			if li > 0 {
				sb.WriteString(", ")
			}
			fmt.Fprintf(&sb, "$P%d_%d using 1:2:3:4 with yerrorlines title %q lc rgb %q lw 2 pt 7 ps 0.6", pi, li, l.title, color(l.who))
		}
		sb.WriteString("\n")
	}
	sb.WriteString("unset multiplot\n")
	return m.plotSized("memory-scaling.png", sb.String(), 1100, 800)
}

// memOutsideCriu: per run, wall time minus the time CRIU's own log spans.
func (m *mdWriter) memOutsideCriu() {
	rows := []string{}
	for _, fs := range []string{"tmpfs", "disk"} {
		for _, size := range m.b.MemSizes {
			line := fmt.Sprintf("| %d | %s |", size, fs)
			have := false
			for _, op := range []string{"checkpoint", "restore"} {
				for _, who := range []string{"mycr", "criu"} {
					v := m.res.find("mem", op, who, size, fs).outsideCriu()
					line += " " + fmtMsOr(v) + " |"
					have = have || ok(v)
				}
				line += " " + fmtMsOr(median(nonNeg(m.res.find("mem", op, "mycr", size, fs)))) + " / " +
					fmtMsOr(median(nonNeg(m.res.find("mem", op, "criu", size, fs)))) + " |"
			}
			if have {
				rows = append(rows, line)
			}
		}
	}
	if len(rows) == 0 {
		return
	}
	m.p("**Outside CRIU.** Each run's wall time minus the time CRIU's own log spans (median ms): what the runtime adds")
	m.p("around CRIU (its start-up, preparation, clean-up; for bare criu, the criu process's own start and exit).")
	m.p("The memory-fault noise of this VM lands inside CRIU, for every runtime alike, so this is the runtime's")
	m.p("overhead without it; the last columns are CRIU's own time (median) in mycr's runs and in bare criu's.")
	m.p("")
	m.p("| MiB | images on | mycr checkpoint | criu dump | CRIU's time, mycr / criu | mycr restore | criu restore | CRIU's time, mycr / criu |")
	m.p("|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		m.p("%s", r)
	}
	m.p("")
}

// nonNeg is a series' CRIU times that were read (-1: log unreadable).
func nonNeg(s *Series) []float64 {
	var out []float64
	if s == nil {
		return nil
	}
	for _, v := range s.CriuMs {
		if v >= 0 {
			out = append(out, v)
		}
	}
	return out
}

func fmtMsOr(v float64) string {
	if v != v {
		return "–"
	}
	return fmtMs(v)
}

// memPairs calls fn for every memory cell of op (images on tmpfs, then disk;
// each size) where both mycr and bare criu have samples.
func (m *mdWriter) memPairs(op string, fn func(fs string, size int, mycr, criu *Series)) {
	for _, fs := range []string{"tmpfs", "disk"} {
		for _, size := range m.b.MemSizes {
			a, c := m.res.find("mem", op, "mycr", size, fs), m.res.find("mem", op, "criu", size, fs)
			if a.ok() && c.ok() {
				fn(fs, size, a, c)
			}
		}
	}
}
