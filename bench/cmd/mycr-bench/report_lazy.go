package main

// lazyWho are the restores the lazy section compares.
var lazyWho = []string{"mycr eager", "runc eager", "mycr lazy"}

// lazy renders section 7: restore --lazy against eager restores.
func (m *mdWriter) lazy() {
	m.p("## 7. Lazy restore")
	m.p("")
	m.p("`mycr restore -d --lazy` of a memhog container (N MiB touched) against an eager `restore -d` of the same image")
	m.p("(mycr, and runc where it restores mycr's image), images on tmpfs and on disk, %s rounds, the order rotating.", m.res.Settings["lazy_runs"])
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
	if img := m.sizePlot("lazy.png", "mycr restore --lazy vs eager: first answer and last page vs touched memory (median, min-max)", m.b.LazySizes, lines, 900, 520); img != "" {
		m.p("%s", img)
		m.p("")
	}
}
