package main

import (
	"fmt"
	"math"
	"strings"
)

// findings writes the notes section: each note is computed from this run's data
// and printed only when the data for it is there.
func (m *mdWriter) findings(want map[string]bool) {
	m.p("## Findings")
	m.p("")
	var notes []string
	add := func(format string, a ...any) { notes = append(notes, fmt.Sprintf(format, a...)) }
	pm := func(op, who, phase string) float64 { return phaseMed(m.findPhase(op, who), phase) }
	med := func(s *Series) float64 {
		if !s.ok() {
			return math.NaN()
		}
		return s.med()
	}
	own := func(op, who string) float64 {
		return pm(op, who, "runtime before CRIU") + pm(op, who, "runtime between CRIU runs") + pm(op, who, "runtime after CRIU")
	}

	if want["cr"] {
		mc, rc := med(m.s("cr-idle", "checkpoint", "mycr")), med(m.s("cr-idle", "checkpoint", "runc"))
		mr, rr := med(m.s("cr-idle", "restore", "mycr")), med(m.s("cr-idle", "restore", "runc"))
		if ok(mc, rc, mr, rr) {
			verdict := "meeting the 0.8× target"
			if mc/rc > 0.8 || mr/rr > 0.8 {
				verdict = "short of the 0.8× target"
			}
			add("**Idle checkpoint/restore: mycr %.2f× / %.2f× runc, %s.** "+
				"mycr's own work around CRIU (before, between and after its CRIU runs) is %s ms at checkpoint and %s ms at restore, against runc's %s and %s ms; "+
				"CRIU itself runs %s ms for mycr's checkpoint vs %s ms for runc's, and %s vs %s ms at restore.",
				mc/rc, mr/rr, verdict, fmtMs(own("checkpoint", "mycr")), fmtMs(own("restore", "mycr")), fmtMs(own("checkpoint", "runc")), fmtMs(own("restore", "runc")),
				fmtMs(pm("checkpoint", "mycr", "CRIU checkpoint")), fmtMs(pm("checkpoint", "runc", "CRIU checkpoint")),
				fmtMs(pm("restore", "mycr", "CRIU restore")), fmtMs(pm("restore", "runc", "CRIU restore")))
		}
		m.netnsFindings(add)
		m.criuFindings(add)
		fr, fm := pm("checkpoint (busy)", "runc", "log: cgroup freezer wait"), pm("checkpoint (busy)", "mycr", "log: cgroup freezer wait")
		bm, br := med(m.s("cr-busy", "checkpoint", "mycr")), med(m.s("cr-busy", "checkpoint", "runc"))
		if ok(fr, fm, bm, br) {
			add("**A busy container shows mycr's pre-freeze: checkpoint %.2f× runc.** libcontainer hands CRIU the freezer cgroup; CRIU writes FROZEN and "+
				"checks back in 100 ms steps, and a running task is not frozen at the first look: CRIU waited %s ms in runc's checkpoint. mycr freezes the cgroup itself "+
				"first (libcontainer's freezer retries in a tight loop) and CRIU finds it frozen: %s ms. An idle container freezes at once, so there the "+
				"two are equal (%s vs %s ms).", bm/br, fmtMs(fr), fmtMs(fm),
				fmtMs(pm("checkpoint", "mycr", "log: cgroup freezer wait")), fmtMs(pm("checkpoint", "runc", "log: cgroup freezer wait")))
		}
	}
	if want["lifecycle"] {
		mr, rr := med(m.s("lifecycle", "run true", "mycr")), med(m.s("lifecycle", "run true", "runc"))
		a, b := pm("run true", "mycr", "runtime until init exec"), pm("run true", "runc", "runtime until init exec")
		c, d := pm("run true", "mycr", "init until container exec"), pm("run true", "runc", "init until container exec")
		e, f := pm("run true", "mycr", "after container exit"), pm("run true", "runc", "after container exit")
		if ok(mr, rr, a, b, c, d, e, f) {
			verdict := "mycr is not slower than runc here"
			if mr > rr {
				verdict = fmt.Sprintf("mycr is %.2f× runc (%+.1f ms)", mr/rr, mr-rr)
			}
			add("**Lifecycle: %s.** From process events: mycr execs its init %s ms after it started (runc: %s ms), the init execs the container's process "+
				"%s ms later (runc: %s ms), and mycr exits %s ms after that process ended (runc: %s ms). The first gap is mycr's own start-up and "+
				"preparation before libcontainer forks the init.", verdict, fmtMs(a), fmtMs(b), fmtMs(c), fmtMs(d), fmtMs(e), fmtMs(f))
		}
	}
	if want["mem"] {
		var worst []string
		for _, op := range []string{"checkpoint", "restore"} {
			m.memPairs(op, func(fs string, size int, a, c *Series) {
				if d := a.med() - c.med(); d > 30 && d/c.med() > 0.05 {
					worst = append(worst, fmt.Sprintf("%s %d MiB on %s %+.0f ms (%+.0f %%)", op, size, fs, d, d/c.med()*100))
				}
			})
		}
		if len(worst) == 0 {
			add("**Memory scaling: mycr stays within 5 %% or 30 ms of bare criu at every size** (tables in section 3).")
		} else {
			add("**Memory scaling, wall time: mycr is more than 5 %% and 30 ms above bare criu at:** %s. %s See the per-size tables for the spread, which on "+
				"this VM is dominated by faulting memory back in from the host: single runs of every runtime, bare criu included, take 2-4× their usual time.",
				strings.Join(worst, "; "), m.memBelow())
		}
		m.memOutsideFinding(add)
		big := m.b.MemSizes[len(m.b.MemSizes)-1]
		for _, fs := range []string{"tmpfs", "disk"} {
			a, d := m.res.find("mem", "checkpoint", "mycr", big, fs), m.res.find("mem", "dd write", "dd", big, fs)
			ra, rd := m.res.find("mem", "restore", "mycr", big, fs), m.res.find("mem", "dd read", "dd", big, fs)
			if a.ok() && d.ok() && ra.ok() && rd.ok() {
				add("At %d MiB on %s mycr checkpoints at %.2f GiB/s (dd writes the same bytes at %.2f GiB/s) and restores at %.2f GiB/s (dd reads at %.2f GiB/s).",
					big, fs, float64(big)/1024/(a.med()/1000), float64(big)/1024/(d.med()/1000), float64(big)/1024/(ra.med()/1000), float64(big)/1024/(rd.med()/1000))
			}
		}
	}
	if want["jvm"] {
		c, r := med(m.s("jvm", "cold start to first answer", "mycr")), med(m.s("jvm", "restore to first answer", "mycr"))
		if ok(c, r) {
			add("**JVM service: mycr's restore answers after %s ms vs %s ms for a cold start (%.3f×).**", fmtMs(r), fmtMs(c), r/c)
		}
		if s := m.s("jvm", "restore to first answer", "runc"); s != nil && !s.ok() && len(s.Errors) > 0 {
			lo := m.res.Facts["jvm loopback after restore: runc"]
			add("**runc's restored JVM never answers**: its restore succeeds, but the container comes back with loopback %s (`--empty-ns network`), so "+
				"127.0.0.1:%d is unreachable inside it (%s).", lo, jvmPort, shortErr(s.Errors[0]))
		}
	}
	if want["migrate"] {
		m.migrateFindings(add)
	}
	m.moreFindings(add)
	if len(notes) == 0 {
		m.p("No findings: sections missing.")
	}
	for i, n := range notes {
		m.p("%d. %s", i+1, n)
	}
	m.p("")
}
