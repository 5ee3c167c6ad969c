package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRestoreFailuresLeaveNothing: restores that fail for a missing bind-mount
// source, a busy ID or a corrupt image (a truncated core image) leave no
// container, state, cgroup, process or mount behind, and the retry after fixing
// the cause restores a container that counts on. Each MYCR_FAULT_TRIALS times.
func TestRestoreFailuresLeaveNothing(t *testing.T) {
	requireCRIU(t)
	src, dst, taken := NewEnv(t), NewEnv(t), NewEnv(t)
	c := src.StartCounter("rfail")
	img := filepath.Join(src.Dir, "img")
	src.Checkpoint(c.ID, img)
	src.ExpectCheckpointedAway(c.ID, c.Pid)
	atDump := counterAtDump(t, c.Count)
	core := imageFile(t, img, "core-1.img")
	good, err := os.ReadFile(core)
	if err != nil {
		t.Fatal(err)
	}
	gone := filepath.Join(dst.Dir, "no-such-volume")
	moved := dst.CopyBundle(c.Bundle, map[string]string{c.Vol: gone})
	busy := taken.StartCounter("busy")
	before, beforeTaken := ownLeaks(dst), ownLeaks(taken)
	outcomes := map[string]int{}
	// retry restores img as id (it must now work), checks it counts on, deletes it.
	retry := func(e *Env, id, what string, flags ...string) {
		t.Helper()
		restoredCounts(t, c, atDump, func() { e.RestoreDetached(id, c.Bundle, img, flags...) })
		e.MustRun("delete", "--force", id)
		if e == taken { // busy's state stays there
			e.ExpectGone(id)
			if ds := cgroupDirs(id); len(ds) > 0 {
				t.Errorf("%s: cgroup dirs of %s are left: %v", what, id, ds)
			}
			return
		}
		e.ExpectNothingLeft(id, what+": retry, then delete")
	}
	for i := 0; i < faultTrials(); i++ {
		// A volume's host path is missing: refused before anything is made.
		id := dst.ID("nobind")
		r := dst.MustFail("restore", "-d", "--bundle", moved, "--image-path", img, id)
		expectMentions(t, r, "missing bind source", gone)
		expectMentions(t, r, "missing bind source", "--remap-mount")
		dst.ExpectNothingLeft(id, "missing bind source")
		retry(dst, id, "missing bind source", "--remap-mount", "/out="+c.Vol)
		outcomes["missing bind source: refused, nothing left, retry with --remap-mount restored"]++

		// The ID is taken by a running container, which must not be touched.
		r = taken.MustFail("restore", "-d", "--bundle", c.Bundle, "--image-path", img, busy.ID)
		expectMentions(t, r, "busy id", "already exists")
		taken.ExpectRunningNotPaused(busy.ID, busy.Pid)
		if l, _ := taken.List(); len(l) != 1 {
			t.Errorf("busy id: list shows %d containers, want only %s", len(l), busy.ID)
		}
		retry(taken, taken.ID("free"), "busy id")
		outcomes["busy id: refused, the running container untouched, retry under a free id restored"]++

		// A truncated core image: CRIU fails half-way, mycr undoes everything.
		if err := os.WriteFile(core, good[:len(good)/3], 0o600); err != nil {
			t.Fatal(err)
		}
		id = dst.ID("corrupt")
		r = dst.MustFail("restore", "-d", "--bundle", c.Bundle, "--image-path", img, id)
		if !strings.Contains(r.Stderr, "restore.log") || !strings.Contains(r.Stderr, "core-1.img") {
			t.Errorf("corrupt image: the error names neither CRIU's log nor the image:\n%s", r)
		}
		dst.ExpectNothingLeft(id, fmt.Sprint("corrupt image, trial ", i))
		if err := os.WriteFile(core, good, 0o600); err != nil {
			t.Fatal(err)
		}
		retry(dst, id, "corrupt image")
		outcomes["truncated core image: refused by CRIU, nothing left, retry with the intact image restored"]++
	}
	WaitCounterAbove(t, busy.Count, MustCounter(t, busy.Count)+2, 10*time.Second)
	after, afterTaken := ownLeaks(dst), ownLeaks(taken)
	expectNoGrowth(t, before, after)
	expectNoGrowth(t, beforeTaken, afterTaken)
	logResult(t, reliabilityResult{Fault: "failed restores: missing bind-mount source, busy ID, truncated core image",
		Trials: 3 * faultTrials(), Outcomes: outcomes, Before: before, After: after,
		Note: fmt.Sprintf("each cause %d times, each followed by a successful retry", faultTrials())})
}

// restoredCounts runs restore (of an image taken when c's counter stood at
// atDump) and waits for the restored counter to count on from there. The file
// is zeroed first: earlier restores of the same image counted past atDump.
func restoredCounts(t *testing.T, c *Counter, atDump int, restore func()) {
	t.Helper()
	if err := os.WriteFile(c.Count, []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	restore()
	WaitCounterAbove(t, c.Count, atDump, 10*time.Second)
}
