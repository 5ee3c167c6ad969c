package main

import (
	"fmt"
	"strings"
)

// criuFindings: where CRIU's fixed costs went (kernel probe, tmpfs archives,
// extra CRIU starts) for mycr and runc.
func (m *mdWriter) criuFindings(add func(string, ...any)) {
	pm := func(op, who, phase string) float64 { return phaseMed(m.findPhase(op, who), phase) }
	kd := pm("checkpoint", "mycr", "log: kernel feature probe (no kdat cache)")
	kr := pm("restore", "mycr", "log: kernel feature probe (no kdat cache)")
	kcd, kcr := pm("checkpoint", "runc", "log: kernel feature probe (kdat cache)"), pm("restore", "runc", "log: kernel feature probe (kdat cache)")
	switch {
	case ok(kd, kr):
		add("**Every CRIU run re-probes the kernel: %s ms per checkpoint and %s ms per restore, for every runtime.** CRIU keeps its kernel-feature "+
			"cache (`criu.kdat`) only on a tmpfs and its directory here is none, so each dump and restore starts with the full probe.", fmtMs(kd), fmtMs(kr))
	case ok(kcd, kcr) || strings.HasPrefix(m.res.Machine["kdat"], "OK"):
		took := "(`mycr check`: " + strings.TrimPrefix(m.res.Machine["kdat"], "OK: ") + ")"
		if ok(kcd, kcr) {
			took = fmt.Sprintf("(loading it: %s ms at checkpoint, %s ms at restore, in runc's runs)", fmtMs(kcd), fmtMs(kcr))
		}
		add("**CRIU's kernel probes come from its cache, for every runtime** %s. CRIU keeps `criu.kdat` "+
			"only on a tmpfs, and stock CRIU keeps it in `/run`, which is no tmpfs on this machine (no systemd): there every CRIU run probed the kernel again, "+
			"25–45 ms per dump and per restore before this setup. `make deps` builds CRIU with RUNDIR=/run/criu and mycr mounts a small tmpfs there once per "+
			"boot (a reboot, perhaps into another kernel, drops the cache), so mycr, runc and bare criu all load it.", took)
	}
	tm, tr := pm("checkpoint", "mycr", tarG), pm("checkpoint", "runc", tarG)
	if ok(tm, tr) && tr > 0 {
		add("**CRIU archives the container's tmpfs mounts with `tar | gzip`: %s ms of each mycr checkpoint, %s ms of runc's.** mycr has CRIU leave out "+
			"the read-only, empty tmpfs mounts that mask directories (the spec's maskedPaths: `/proc/acpi` and `/sys/firmware` here) and binds an empty "+
			"read-only tmpfs there at restore; `/dev`, `/dev/shm` and `/sys/fs/cgroup` may hold the container's own files and are still archived.", fmtMs(tm), fmtMs(tr))
	}
	lm, lr := m.findPhase("checkpoint", "mycr"), m.findPhase("checkpoint", "runc")
	vr := pm("checkpoint", "runc", "CRIU version call(s)")
	if lm != nil && lr != nil && ok(vr) {
		add("**CRIU starts: %.0f per mycr checkpoint, %.0f per runc checkpoint.** libcontainer asks `criu swrk` for its VERSION before every operation "+
			"unless its `Container` already knows it (%s ms of runc's checkpoint); mycr hands it the version it caches per criu binary.",
			medianInts(lm.Counts["criu launches"]), medianInts(lr.Counts["criu launches"]), fmtMs(vr))
	}
}
