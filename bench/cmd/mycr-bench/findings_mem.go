package main

import "fmt"

// memBelow names the cell where mycr's median is furthest below bare criu's:
// the same noise shows up on both sides.
func (m *mdWriter) memBelow() string {
	best, txt := 0.0, ""
	for _, op := range []string{"checkpoint", "restore"} {
		m.memPairs(op, func(fs string, size int, a, c *Series) {
			if a.med()/c.med()-1 < best {
				best = a.med()/c.med() - 1
				txt = fmt.Sprintf("In the same run mycr's median is also %.0f %% *below* bare criu's (%s %d MiB on %s).", -best*100, op, size, fs)
			}
		})
	}
	return txt
}

// memOutsideFinding: the runtime's own time around CRIU, where the memory-fault
// noise does not reach.
func (m *mdWriter) memOutsideFinding(add func(string, ...any)) {
	lo, hi := 1e9, -1e9
	for _, op := range []string{"checkpoint", "restore"} {
		m.memPairs(op, func(_ string, _ int, a, c *Series) {
			if oa, oc := a.outsideCriu(), c.outsideCriu(); ok(oa, oc) {
				lo, hi = min(lo, oa-oc), max(hi, oa-oc)
			}
		})
	}
	if hi < lo {
		return
	}
	add("**Outside CRIU, mycr adds %.0f to %.0f ms over bare criu's own process start at every size** (section 3): its own start-up, "+
		"container state, cgroups, locks, metadata and clean-up. The time CRIU itself takes carries the VM's memory noise, for both alike.", lo, hi)
}
