package main

import "fmt"

// linkTable renders the migration between two hosts over the shaped link.
func (m *mdWriter) link() {
	rate := m.res.Settings["link_rate"]
	m.p("## 5b. Migration between two hosts over a %s link", rate)
	m.p("")
	m.p("`mycr migrate --to ssh://hostb --mode lazy|stop-and-copy --no-fallback` of a container running memhog (N MiB touched)")
	m.p("from host A to host B: two network and mount namespaces on this machine joined by veth pairs through a bridge, each")
	m.p("with its own sshd and state root, neither able to read the other's directories (`internal/twohosts`); each host's")
	m.p("outgoing traffic shaped to %s by `tc … tbf` (this kernel has no netem: no added delay). Images and pages go", rate)
	m.p("over the direct TLS connection (`--channel tls`, the default) or through the ssh session (`--channel ssh`), the")
	m.p("variants alternating; *tls, ssh open* is the default channel with an ssh master connection to B already open")
	m.p("(`ControlMaster auto` and `ControlPersist` in A's ssh config, as a user moving many containers sets them), so ssh's")
	m.p("start is not part of the migration. *Frozen* and *total* are the report's `frozen_ms` and `total_ms`; *on the wire* is what")
	m.p("crossed A's link (both directions, read from its /proc/net/dev), and *link limit* that many bytes at %s,", rate)
	m.p("the least time any transfer of them can take; *total / limit* is how close to the link's rate the migration runs.")
	m.p("")
	m.p("| MiB | mode | channel | frozen | total | command | on the wire | link limit | total / limit |")
	m.p("|---|---|---|---|---|---|---|---|---|")
	for _, size := range m.b.LinkSizes {
		for _, v := range linkVariants() {
			f := func(op string) *Series { return m.res.find("link", op, v.who(), size, "") }
			if f("frozen") == nil {
				continue // not measured (an older results.json)
			}
			fr := cellWithFailures(f("frozen"))
			ratio := "–"
			if t, l := f("total"), f("limit"); t.ok() && l.ok() {
				ratio = fmt.Sprintf("%.2f×", t.med()/l.med())
			}
			wire := "–"
			if l := f("limit"); l.ok() {
				wire = fmtBytes(l.medBytes())
			}
			channel := v.channel
			if v.shared {
				channel += ", ssh open"
			}
			m.p("| %d | %s | %s | %s | %s | %s | %s | %s | %s |", size, v.mode, channel, fr, cell(f("total")), cell(f("command")), wire, cell(f("limit")), ratio)
		}
	}
	m.p("")
	lines := []plotLine{
		{"link", "frozen", "lazy", "", "lazy (post-copy): frozen", "#1f77b4", 1},
		{"link", "frozen", "stop-and-copy", "", "stop-and-copy: frozen", "#ff7f0e", 1},
		{"link", "total", "lazy", "", "lazy (post-copy): total", "#1f77b4", 2},
		{"link", "total", "stop-and-copy", "", "stop-and-copy: total", "#ff7f0e", 2},
		{"link", "total", "stop-and-copy/ssh", "", "stop-and-copy through ssh: total", "#d62728", 2},
		{"link", "limit", "lazy", "", "link limit (bytes on the wire / rate)", "#2ca02c", 3},
	}
	title := fmt.Sprintf("mycr migrate between two hosts over a %s link: frozen and total time vs touched memory (median, min-max)", rate)
	if img := m.sizePlot("migration-link.png", title, m.b.LinkSizes, lines, 900, 520); img != "" {
		m.p("%s", img)
		m.p("")
	}
}

// linkSummary adds issue 13's goals for the migration between two hosts.
func (m *mdWriter) linkSummary() {
	sz := m.b.LinkSizes
	if len(sz) == 0 {
		return
	}
	rate := m.res.Settings["link_rate"]
	worst, worstSize := 0.0, 0
	for _, size := range sz {
		if s := m.res.find("link", "frozen", "lazy", size, ""); s.ok() && s.med() > worst {
			worst, worstSize = s.med(), size
		}
	}
	lo, hi := m.res.find("link", "frozen", "lazy", sz[0], ""), m.res.find("link", "frozen", "lazy", sz[len(sz)-1], "")
	if !lo.ok() || !hi.ok() {
		m.p("| migration over a %s link: lazy frozen ≤ 100 ms, growing ≤ 1.3× | no data | – |", rate)
	} else {
		g := hi.med() / lo.med()
		m.p("| migration over a %s link: lazy frozen ≤ 100 ms at every size, growing ≤ 1.3× | worst %s ms (%d MiB); %d → %d MiB: %s → %s ms = **%.2f×** | %s |",
			rate, fmtMs(worst), worstSize, sz[0], sz[len(sz)-1], fmtMs(lo.med()), fmtMs(hi.med()), g, mark(worst <= 100 && g <= 1.3))
	}
	m.criuLazyFloor()
	for _, mode := range migrateModes {
		q, txt := m.worstLinkRatio(mode)
		m.p("| %s over the link (TLS channel): total ≤ 1.2× the link limit | %s | %s |", mode, txt, mark(q > 0 && q <= 1.2))
		if q, txt := m.worstLinkRatio(mode + "/shared"); q > 0 {
			m.p("|  | with an ssh connection to the target already open: %s | %s |", txt, mark(q <= 1.2))
		}
	}
}

// worstLinkRatio is the highest total / link limit of a series over the sizes.
func (m *mdWriter) worstLinkRatio(who string) (float64, string) {
	worstQ, worstTxt := 0.0, "no data"
	for _, size := range m.b.LinkSizes {
		t, l := m.res.find("link", "total", who, size, ""), m.res.find("link", "limit", who, size, "")
		if t.ok() && l.ok() && t.med()/l.med() > worstQ {
			worstQ = t.med() / l.med()
			worstTxt = fmt.Sprintf("worst %d MiB: %s vs %s ms = **%.2f×**", size, fmtMs(t.med()), fmtMs(l.med()), worstQ)
		}
	}
	return worstQ, worstTxt
}

// criuLazyFloor adds the same goal measured on bare CRIU's own lazy migration
// on one host (section 5): what no runtime driving CRIU can go below.
func (m *mdWriter) criuLazyFloor() {
	sz := m.b.MigSizes
	if len(sz) < 2 {
		return
	}
	lo, hi := m.res.find("migrate", "frozen", criuLazyMode, sz[0], ""), m.res.find("migrate", "frozen", criuLazyMode, sz[len(sz)-1], "")
	if !lo.ok() || !hi.ok() {
		return
	}
	g := hi.med() / lo.med()
	m.p("|  | bare CRIU's own lazy migration, one host, no network (section 5): %d → %d MiB: %s → %s ms = **%.2f×** | %s |",
		sz[0], sz[len(sz)-1], fmtMs(lo.med()), fmtMs(hi.med()), g, mark(hi.med() <= 100 && lo.med() <= 100 && g <= 1.3))
}
