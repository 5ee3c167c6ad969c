package integration

import (
	"path/filepath"
	"testing"
	"time"
)

// checkpointLeaveRunning checkpoints a counter with --leave-running and checks the
// original never stopped: running, not paused, same process, still counting.
// It returns the counter read just before the checkpoint.
func checkpointLeaveRunning(t *testing.T, e *Env, c *Counter, img string) int {
	t.Helper()
	before := MustCounter(t, c.Count)
	e.Checkpoint(c.ID, img, "--leave-running")
	e.ExpectRunningNotPaused(c.ID, c.Pid)
	after := MustCounter(t, c.Count)
	WaitCounterAbove(t, c.Count, after+3, 5*time.Second)
	e.ExpectRunningNotPaused(c.ID, c.Pid)
	ExpectPrivateImage(t, img)
	return before
}

// TestLeaveRunningRestoreAlongside restores a --leave-running image under a new id
// in a second bundle (its volume another host dir) while the original still runs:
// both count, each into its own volume. Pid namespaces keep the restored pids from
// clashing with the original's.
func TestLeaveRunningRestoreAlongside(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	c := e.StartCounter("orig")
	img := filepath.Join(e.Dir, "image")
	before := checkpointLeaveRunning(t, e, c, img)

	vol2 := e.Mkdir("vol")
	bundle2 := e.CopyBundle(c.Bundle, map[string]string{c.Vol: vol2})
	id2 := e.ID("copy")
	_, s2 := e.RestoreDetached(id2, bundle2, img)
	if s2.Pid == c.Pid {
		t.Fatalf("restored copy reports the original's pid %d", c.Pid)
	}
	count2 := filepath.Join(vol2, "count")
	first := MustCounter(t, count2)
	if first < before {
		t.Fatalf("restored copy's counter %d is below %d, read before the checkpoint: it started over", first, before)
	}
	WaitCounterAbove(t, count2, first+5, 5*time.Second)

	// The original is untouched and still counts in its own volume.
	e.ExpectRunningNotPaused(c.ID, c.Pid)
	WaitCounterAbove(t, c.Count, MustCounter(t, c.Count)+3, 5*time.Second)
	l, r := e.List()
	if len(l) != 2 {
		t.Errorf("list: want the original and the copy, got %+v\n%s", l, r)
	}

	// Deleting one leaves the other alone.
	e.MustRun("delete", "--force", c.ID)
	e.ExpectGone(c.ID)
	v := MustCounter(t, count2)
	WaitCounterAbove(t, count2, v+3, 5*time.Second)
	e.ExpectStatus(id2, "running")
}

// TestLeaveRunningRestoreAfterDelete: checkpoint --leave-running, delete the
// original, restore the image under a new id from a second bundle.
func TestLeaveRunningRestoreAfterDelete(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	c := e.StartCounter("orig")
	img := filepath.Join(e.Dir, "image")
	before := checkpointLeaveRunning(t, e, c, img)

	e.MustRun("delete", "--force", c.ID)
	e.ExpectGone(c.ID)
	WaitPidGone(t, c.Pid, 5*time.Second)

	vol2 := e.Mkdir("vol")
	bundle2 := e.CopyBundle(c.Bundle, map[string]string{c.Vol: vol2})
	id2 := e.ID("copy")
	e.RestoreDetached(id2, bundle2, img)
	count2 := filepath.Join(vol2, "count")
	if first := MustCounter(t, count2); first < before {
		t.Fatalf("restored counter %d is below %d, read before the checkpoint", first, before)
	}
	WaitCounterAbove(t, count2, before+5, 5*time.Second)
}
