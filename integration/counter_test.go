package integration

import (
	"path/filepath"
	"testing"
	"time"
)

// TestCheckpointRestoreCounter: checkpoint takes the container away; restore -d
// brings it back and the counter continues where it stopped.
func TestCheckpointRestoreCounter(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	c := e.StartCounter("counter")
	before := MustCounter(t, c.Count)

	img := filepath.Join(e.Dir, "image") // does not exist yet: checkpoint makes it
	e.Checkpoint(c.ID, img)
	e.ExpectCheckpointedAway(c.ID, c.Pid)
	ExpectPrivateImage(t, img)
	last := ExpectCounterStill(t, c.Count, 500*time.Millisecond)
	if last < before {
		t.Fatalf("counter went back from %d to %d", before, last)
	}
	e.ExpectNoState("after checkpoint")

	_, s := e.RestoreDetached(c.ID, c.Bundle, img)
	if s.Pid == c.Pid {
		t.Logf("restored container got the same host pid %d", s.Pid)
	}
	if first := MustCounter(t, c.Count); first < last {
		t.Fatalf("restored counter at %d, below %d where it was checkpointed: it started over", first, last)
	}
	WaitCounterAbove(t, c.Count, last+5, 5*time.Second)
	e.ExpectStatus(c.ID, "running")
}
