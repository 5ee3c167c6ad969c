package main

import "fmt"

const (
	ipG  = "  ip (netns addresses, routes)"
	iptG = "  iptables/ip6tables (network lock, netns rules)"
	tarG = "  tar+gzip (tmpfs contents)"
)

// netnsFindings: what each runtime makes CRIU do with the container's network
// namespace, and what the restored container's loopback looks like.
func (m *mdWriter) netnsFindings(add func(string, ...any)) {
	pm := func(op, who, phase string) float64 { return phaseMed(m.findPhase(op, who), phase) }
	lo := func(who string) string { return m.res.Facts["loopback after restore: "+who] }
	ipM, ipC := pm("checkpoint", "mycr", ipG), pm("checkpoint", "criu", ipG)
	nsM, nsR, nsC := pm("checkpoint", "mycr", "log: namespaces (net, ipc, uts)"), pm("checkpoint", "runc", "log: namespaces (net, ipc, uts)"), pm("checkpoint", "criu", "log: namespaces (net, ipc, uts)")
	if ok(ipM, ipC, nsM, nsR, nsC) && lo("mycr") != "" && lo("runc") != "" {
		how := "mycr has CRIU save it (`ip` programs: %s ms), like bare criu (%s ms)"
		if ipM == 0 {
			how = "mycr skips CRIU's dump of a network namespace that holds only loopback (no `ip` program runs; bare criu's `ip` programs: %[2]s ms) and brings lo up again itself at restore"
		}
		add("**Network namespace: runc always passes `--empty-ns network`, "+how+".** CRIU's log spends %s ms on namespaces at checkpoint for mycr, %s ms for runc, %s ms for bare criu. "+
			"After restore the container's loopback is %s with mycr and %s with runc: anything listening on or talking to 127.0.0.1 inside runc's restored container is cut off for good (see the JVM case).",
			fmtMs(ipM), fmtMs(ipC), fmtMs(nsM), fmtMs(nsR), fmtMs(nsC), lo("mycr"), lo("runc"))
	}
	itM, itR, itS := pm("restore", "mycr", iptG), pm("restore", "runc", iptG), pm("restore", "runc + network-lock skip", iptG)
	rr, rs := m.s("cr-idle", "restore", "runc"), m.s("cr-idle", "restore", "runc + network-lock skip")
	if ok(itM, itR, itS) && rr.ok() && rs.ok() {
		add("**CRIU's network lock at restore: runc's restore spends %s ms running iptables programs (`iptables-restore`, `ip6tables-restore` and their -legacy variants, each a fresh process), mycr's %s ms.** "+
			"With `network-lock skip` in a CRIU config file (annotation `org.criu.config`) runc's drops to %s ms and its restore from %s to %s ms. "+
			"mycr locks with nftables inside CRIU, and not at all when the container's network namespace holds only loopback and no TCP socket "+
			"(nothing there to guard; CRIU restores with the dump's method, so the restore skips the nftables unlock too).",
			fmtMs(itR), fmtMs(itM), fmtMs(itS), fmtMs(rr.med()), fmtMs(rs.med()))
	}
	if a, c := m.res.find("mem", "checkpoint", "mycr", 64, "disk"), m.res.find("mem", "checkpoint", "criu", 64, "disk"); a.ok() && c.ok() && a.med() < c.med() && ipM == 0 && ipC > 0 {
		add("**Bare criu is not a strict floor here:** it saves the container's network namespace and locks its network, which mycr no longer does for a loopback-only container, so mycr checkpoints a 64 MiB container in %s ms against bare criu's %s ms. The memory-scaling comparison is still fair for the part that grows with memory.",
			fmtMs(a.med()), fmtMs(c.med()))
	}
}

// moreFindings: migration totals and archive throughput.
func (m *mdWriter) moreFindings(add func(string, ...any)) {
	for _, size := range m.b.MigSizes {
		l, s := m.res.find("migrate", "total", "lazy", size, ""), m.res.find("migrate", "total", "stop-and-copy", size, "")
		if l.ok() && s.ok() && l.med() > s.med() {
			add("**Post-copy costs more in total at %d MiB:** lazy migration takes %s ms from start to the last page against %s ms for stop-and-copy, although its downtime is lower; post-copy pays off in total time only for larger memory (see the table).",
				size, fmtMs(l.med()), fmtMs(s.med()))
			break
		}
	}
	if len(m.b.ArcSizes) == 0 {
		return
	}
	size := m.b.ArcSizes[len(m.b.ArcSizes)-1]
	d, n := m.res.find("archive", "checkpoint", "directory", size, ""), m.res.find("archive", "checkpoint", "none", size, "")
	g, z := m.res.find("archive", "checkpoint", "gzip", size, ""), m.res.find("archive", "checkpoint", "zstd", size, "")
	if d.ok() && n.ok() && g.ok() && z.ok() {
		raw := m.res.find("archive", "image", "directory", size, "").medBytes() / (1 << 20)
		rate := func(s *Series) string { return fmt.Sprintf("%.0f MiB/s", raw/((s.med()-d.med())/1000)) }
		add("**Archive export at %d MiB: gzip packs at %s, zstd at %s, and even an uncompressed archive only at %s** (dd writes the same disk at several GiB/s): "+
			"the export is a second pass over the images after the dump; `--compress gzip` is %.1f× slower than a plain checkpoint for the same 2:1 size as zstd.",
			size, rate(g), rate(z), rate(n), g.med()/d.med())
	}
}
