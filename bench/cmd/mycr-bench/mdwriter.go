package main

import (
	"fmt"
	"strings"
)

// mdWriter builds benchmarks.md from the results.
type mdWriter struct {
	b   *Bench
	res *Results
	dir string
	sb  strings.Builder
}

// ok says whether every value was measured (none is NaN).
func ok(v ...float64) bool {
	for _, x := range v {
		if x != x { // NaN
			return false
		}
	}
	return true
}

func (m *mdWriter) p(format string, a ...any) { fmt.Fprintf(&m.sb, format+"\n", a...) }

func (m *mdWriter) s(group, op, who string) *Series { return m.res.find(group, op, who, 0, "") }

func mark(ok bool) string {
	if ok {
		return "✅ met"
	}
	return "❌ not met"
}
