package main

import (
	"fmt"
	"strings"
)

// lazyWho are the restores the lazy section compares.
var lazyWho = []string{"mycr eager", "runc eager", "mycr lazy"}

// lazy renders section 7: restore --lazy against eager restores.
func (m *mdWriter) lazy() {
	m.p("## 7. Lazy restore")
	m.p("")
	m.p("`mycr restore -d --lazy` of a memhog container (N MiB touched) against an eager `restore -d` of the same image")
	m.p("(mycr; runc restores its own checkpoint of the same memhog, up to %s MiB), images on tmpfs and on disk, %s rounds, the order rotating.", m.res.Settings["mem_runc_max"], m.res.Settings["lazy_runs"])
	m.p("*Running*: until the pid file is written (the restored process runs); *first answer*: until memhog answered")
	m.p("SIGUSR1 correctly (it checks 64 pages spread over its memory; asked as soon as the pid file appears);")
	m.p("*last page*: until `mycr restore --lazy` returned (the lazy-pages daemon had every page in). All from the")
	m.p("command's start. Issue 15's goals: first answer ≤ 150 ms at every size, growing ≤ 1.5× with the memory.")
	m.p("")
	m.p("| MiB | fs | restore | running | first answer | last page |")
	m.p("|---|---|---|---|---|---|")
	for _, size := range m.b.LazySizes {
		for _, fs := range []string{"tmpfs", "disk"} {
			for _, who := range lazyWho {
				f := func(op string) *Series { return m.res.find("lazy", op, who, size, fs) }
				last := "–"
				if who == "mycr lazy" {
					last = cell(f("last page"))
				}
				m.p("| %d | %s | %s | %s | %s | %s |", size, fs, who, cellWithFailures(f("running")), cell(f("first answer")), last)
			}
		}
	}
	m.p("")
	if n := len(m.b.LazySizes); n > 1 {
		lo, hi := m.b.LazySizes[0], m.b.LazySizes[n-1]
		for _, fs := range []string{"tmpfs", "disk"} {
			a, b := m.res.find("lazy", "first answer", "mycr lazy", lo, fs), m.res.find("lazy", "first answer", "mycr lazy", hi, fs)
			e1, e2 := m.res.find("lazy", "first answer", "mycr eager", lo, fs), m.res.find("lazy", "first answer", "mycr eager", hi, fs)
			if a.ok() && b.ok() && e1.ok() && e2.ok() {
				m.p("- %s: lazy first answer %s → %s ms from %d to %d MiB (**%.1f×**, goal ≤ 1.5×; ≤ 150 ms: %s); eager %.1f×.",
					fs, fmtMs(a.med()), fmtMs(b.med()), lo, hi, b.med()/a.med(), mark(b.med() <= 150 && a.med() <= 150), e2.med()/e1.med())
			}
		}
		m.p("")
	}
	var lines []plotLine
	colors := map[string]string{"mycr eager": "#ff7f0e", "runc eager": "#2ca02c", "mycr lazy": "#1f77b4"}
	for _, fs := range []string{"tmpfs", "disk"} {
		dash := 1
		if fs == "disk" {
			dash = 2
		}
		lines = append(lines,
			plotLine{"lazy", "first answer", "mycr eager", fs, "eager: first answer (" + fs + ")", colors["mycr eager"], dash},
			plotLine{"lazy", "first answer", "mycr lazy", fs, "lazy: first answer (" + fs + ")", colors["mycr lazy"], dash},
			plotLine{"lazy", "last page", "mycr lazy", fs, "lazy: last page (" + fs + ")", "#9467bd", dash})
	}
	m.lazyJVM()
	if img := m.sizePlot("lazy.png", "mycr restore --lazy vs eager: first answer and last page vs touched memory (median, min-max)", m.b.LazySizes, lines, 900, 520); img != "" {
		m.p("%s", img)
		m.p("")
	}
}

// lazyJVM: the JVM service with a warm cache, eager vs lazy restore.
func (m *mdWriter) lazyJVM() {
	if len(m.b.LazyJVMSizes) == 0 {
		return
	}
	m.p("**JVM service with a warm cache.** Section 4's service (`IndexServer`) with N MiB of pseudo-random data")
	m.p("filled on its heap after its warm-up (`-Xmx` N+1024 MiB); each answer reads 64 cache pages spread over")
	m.p("the heap, so a correct answer proves they came back intact. Checkpointed once the cold start answered,")
	m.p("images on disk, then restored by mycr eagerly and lazily (order rotating), %s rounds. *Lazy hot*: then one", m.res.Settings["lazy_runs"])
	m.p("untimed `restore --lazy --record-hot-pages` that asks once (the pages that answer faulted on are marked in the")
	m.p("images to load before the service runs), and a timed lazy restore of the marked images. From `restore`'s start:")
	m.p("")
	m.p("| heap cache MiB | restore | running | first correct answer | last page |")
	m.p("|---|---|---|---|---|")
	for _, size := range m.b.LazyJVMSizes {
		for _, who := range []string{"mycr eager", "mycr lazy", "mycr lazy hot"} {
			f := func(op string) *Series { return m.res.find("lazy-jvm", op, who, size, "disk") }
			last := "–"
			if who != "mycr eager" {
				last = cell(f("last page"))
			}
			m.p("| %d | %s | %s | %s | %s |", size, who, cell(f("running")), cellWithFailures(f("first answer")), last)
		}
	}
	m.p("")
	if n := len(m.b.LazyJVMSizes); n > 1 {
		lo, hi := m.b.LazyJVMSizes[0], m.b.LazyJVMSizes[n-1]
		e1, e2 := m.res.find("lazy-jvm", "first answer", "mycr eager", lo, "disk"), m.res.find("lazy-jvm", "first answer", "mycr eager", hi, "disk")
		for _, who := range []string{"mycr lazy", "mycr lazy hot"} {
			a, b := m.res.find("lazy-jvm", "first answer", who, lo, "disk"), m.res.find("lazy-jvm", "first answer", who, hi, "disk")
			if a.ok() && b.ok() && e1.ok() && e2.ok() {
				m.p("- JVM, %s: first answer %s → %s ms from %d to %d MiB of cache (**%.1f×**; ≤ 150 ms: %s); eager %s → %s ms (%.1f×).",
					strings.TrimPrefix(who, "mycr "), fmtMs(a.med()), fmtMs(b.med()), lo, hi, b.med()/a.med(), mark(b.med() <= 150 && a.med() <= 150), fmtMs(e1.med()), fmtMs(e2.med()), e2.med()/e1.med())
			}
		}
		m.p("")
	}
}

// lazySummary: issue 15's goals, first answer ≤ 150 ms and growing ≤ 1.5×
// (memhog, both filesystems), last page ≤ 1.2× the eager restore.
func (m *mdWriter) lazySummary() {
	sz := m.b.LazySizes
	if len(sz) == 0 {
		return
	}
	worst, worstTxt, growth, growthTxt := 0.0, "no data", 0.0, ""
	lastQ, lastTxt := 0.0, "no data"
	for _, fs := range []string{"tmpfs", "disk"} {
		for _, size := range sz {
			f := m.res.find("lazy", "first answer", "mycr lazy", size, fs)
			if f.ok() && f.med() > worst {
				worst, worstTxt = f.med(), fmt.Sprintf("worst %s ms (%d MiB %s)", fmtMs(f.med()), size, fs)
			}
			l, e := m.res.find("lazy", "last page", "mycr lazy", size, fs), m.res.find("lazy", "running", "mycr eager", size, fs)
			if l.ok() && e.ok() && l.med()/e.med() > lastQ {
				lastQ, lastTxt = l.med()/e.med(), fmt.Sprintf("worst %d MiB %s: %s vs %s ms = **%.2f×**", size, fs, fmtMs(l.med()), fmtMs(e.med()), l.med()/e.med())
			}
		}
		a, b := m.res.find("lazy", "first answer", "mycr lazy", sz[0], fs), m.res.find("lazy", "first answer", "mycr lazy", sz[len(sz)-1], fs)
		if a.ok() && b.ok() && b.med()/a.med() > growth {
			growth, growthTxt = b.med()/a.med(), fmt.Sprintf("; %d → %d MiB (%s): **%.2f×**", sz[0], sz[len(sz)-1], fs, b.med()/a.med())
		}
	}
	m.p("| lazy restore: first answer ≤ 150 ms at every size, growing ≤ 1.5× | %s%s | %s |", worstTxt, growthTxt, mark(worst > 0 && worst <= 150 && growth <= 1.5))
	m.p("| lazy restore: last page ≤ 1.2× the eager restore | %s | %s |", lastTxt, mark(lastQ > 0 && lastQ <= 1.2))
}
