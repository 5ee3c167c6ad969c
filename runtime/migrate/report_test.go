package migrate

import (
	"os"
	"path/filepath"
	"testing"
)

// TestReportLine: the one line `mycr migrate` prints, per mode.
func TestReportLine(t *testing.T) {
	cases := []struct {
		rep  Report
		want string
	}{
		{Report{ID: "a", TargetID: "b", Mode: Lazy, FrozenMs: 212.4, TotalMs: 1534, BytesMoved: 3 << 20, ImageBytes: 1536, PageBytes: 3<<20 - 1536,
			CriuFrozenMs: 1400, CriuDumpReadyMs: 150, CriuRestoreMs: 60},
			"migrated a -> b (lazy): frozen 212ms, total 1.53s, moved 3MiB (images 1.5KiB + pages 2.999MiB)" +
				" [CRIU: dump ready after 150ms, restore 60ms; source held frozen 1.40s until the last page moved]"},
		{Report{ID: "a", TargetID: "a", Mode: StopCopy, FrozenMs: 999.6, TotalMs: 2000, BytesMoved: 5 << 30, ImageBytes: 5 << 30,
			CriuFrozenMs: 900, CriuRestoreMs: 80},
			"migrated a -> a (stop-and-copy): frozen 1000ms, total 2.00s, moved 5GiB (images 5GiB + pages 0B) [CRIU: frozen_time 900ms, restore 80ms]"},
		{Report{ID: "a", TargetID: "b", Mode: StopCopy, BytesMoved: 1000, ImageBytes: 1000},
			"migrated a -> b (stop-and-copy): frozen 0ms, total 0ms, moved 1000B (images 1000B + pages 0B)"},
	}
	for _, c := range cases {
		if got := c.rep.Line(); got != c.want {
			t.Errorf("Line():\n got %s\nwant %s", got, c.want)
		}
	}
}

// TestReadLazyDumpTimes: CRIU's view of a lazy dump's frozen time comes from
// its log's timestamps (its stats are wiped by the page server).
func TestReadLazyDumpTimes(t *testing.T) {
	const freezerLog = `(00.000100) Version: 4.2
(00.010000) freezing processes: 1 attempts done
(00.020000) Seized task 1234
(00.160000) Running status-ready scripts
(00.170000) Unfreezing tasks into 1
(01.510000) Unfreezing tasks into 1
`
	const ptraceLog = "(00.050000) Seized task 99\n(00.250000) Running status-ready scripts\n(00.550000) Unfreezing tasks into 99\n"
	cases := []struct {
		name, log         string
		ok                bool
		frozenMs, readyMs float64
	}{
		{"freezer cgroup", freezerLog, true, 1500, 150},
		{"ptrace freeze", ptraceLog, true, 500, 200},
		{"never ready", "(00.010000) freezing processes: 1 attempts done\n(00.500000) Unfreezing tasks into 1\n", false, 0, 0},
		{"no timestamps", "freezing processes: 1 attempts done\nRunning status-ready scripts\nUnfreezing tasks\n", false, 0, 0},
	}
	for _, c := range cases {
		path := filepath.Join(t.TempDir(), "dump.log")
		if err := os.WriteFile(path, []byte(c.log), 0o600); err != nil {
			t.Fatal(err)
		}
		got, ok := readLazyDumpTimes(path)
		if ok != c.ok || !near(got.FrozenMs, c.frozenMs) || !near(got.ReadyMs, c.readyMs) {
			t.Errorf("%s: %+v %v, want frozen %v ready %v %v", c.name, got, ok, c.frozenMs, c.readyMs, c.ok)
		}
	}
	if _, ok := readLazyDumpTimes(filepath.Join(t.TempDir(), "missing.log")); ok {
		t.Error("times read from a missing log")
	}
}

func near(a, b float64) bool { return a-b < 1e-6 && b-a < 1e-6 }
