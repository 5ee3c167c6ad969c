package integration

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMigrateStopAndCopy: a counter container moves to another state root under a
// new ID; the source is gone and the counter goes on on the target.
func TestMigrateStopAndCopy(t *testing.T) {
	requireCRIU(t)
	src, dst := NewEnv(t), NewEnv(t)
	c := src.StartCounter("migrate")
	newID := dst.ID("migrated")
	r := src.MustRun("migrate", "--mode", "stop-and-copy", "--to-root", dst.Root, "--target-id", newID, "--format", "json", c.ID)
	if rep := parseMigrateReport(t, r); rep.Mode != "stop-and-copy" || rep.ImageBytes != rep.BytesMoved {
		t.Errorf("report: mode %q, image bytes %d, bytes moved %d", rep.Mode, rep.ImageBytes, rep.BytesMoved)
	}
	t.Logf("report: %s", lastLine(r.Stdout))
	src.ExpectCheckpointedAway(c.ID, c.Pid)
	dst.ExpectStatus(newID, "running")
	last := MustCounter(t, c.Count)
	WaitCounterAbove(t, c.Count, last+5, 5*time.Second)
}

// TestMigrateFailureKeepsSource: a target that cannot take the container (its
// bundle's volume is missing) leaves the source running and counting.
func TestMigrateFailureKeepsSource(t *testing.T) {
	requireCRIU(t)
	src, dst := NewEnv(t), NewEnv(t)
	c := src.StartCounter("migrate-fail")
	bundle := dst.CopyBundle(c.Bundle, map[string]string{c.Vol: filepath.Join(dst.Dir, "missing")})
	src.MustFail("migrate", "--to-root", dst.Root, "--bundle", bundle, c.ID)
	s := src.ExpectStatus(c.ID, "running")
	WaitCounterAbove(t, c.Count, MustCounter(t, c.Count)+5, 5*time.Second)
	if s.Pid <= 0 {
		t.Fatal("source has no pid")
	}
	dst.ExpectNoState("target after a failed migration")
}

func lastLine(s string) string {
	lines := splitLines(s)
	if len(lines) == 0 {
		return ""
	}
	return lines[len(lines)-1]
}

func splitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}
