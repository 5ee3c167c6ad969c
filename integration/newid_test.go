package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRestoreNewID: runc-style restore of a checkpoint under another id.
func TestRestoreNewID(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	c := e.StartCounter("old")
	img := filepath.Join(e.Dir, "image")
	work := e.Mkdir("work")
	e.Checkpoint(c.ID, img, "--work-path", work)
	e.ExpectCheckpointedAway(c.ID, c.Pid)
	last := MustCounter(t, c.Count)
	if ents, _ := os.ReadDir(work); len(ents) == 0 {
		t.Errorf("checkpoint --work-path %s left nothing (CRIU's log) there", work)
	}

	id2 := e.ID("new")
	pidFile := filepath.Join(e.Dir, "restored.pid")
	_, s := e.RestoreDetached(id2, c.Bundle, img, "--work-path", e.Mkdir("work"), "--pid-file", pidFile)
	if b, err := os.ReadFile(pidFile); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(s.Pid) {
		t.Errorf("restore --pid-file holds %q (%v), want the restored pid %d", b, err, s.Pid)
	}
	if s.ID != id2 {
		t.Errorf("state of the restored container says id %q, want %q", s.ID, id2)
	}
	e.ExpectGone(c.ID)
	l, r := e.List()
	if len(l) != 1 || l[0].ID != id2 || l[0].Status != "running" {
		t.Errorf("list: want only %s running, got %+v\n%s", id2, l, r)
	}
	if first := MustCounter(t, c.Count); first < last {
		t.Fatalf("restored counter %d below %d: started over", first, last)
	}
	WaitCounterAbove(t, c.Count, last+5, 5*time.Second)

	// The new id is a full container: pause/resume and kill work on it.
	e.MustRun("pause", id2)
	e.ExpectStatus(id2, "paused")
	e.MustRun("resume", id2)
	e.MustRun("kill", id2, "KILL")
	e.WaitStatus(id2, "stopped", 10*time.Second)
	e.MustRun("delete", id2)
	e.ExpectNoState("after deleting the restored container")
}

// TestRestoreIntoCreatedContainer: runsc-style: `create` a container, then
// `restore --image-path DIR ID` restores the checkpoint into it, and the restored
// process writes to the stdio the created container got.
func TestRestoreIntoCreatedContainer(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	// The counter also prints each value to stdout.
	c := e.StartCounter("src", Shell(countAndPrint("echo $i")))
	img := filepath.Join(e.Dir, "image")
	e.Checkpoint(c.ID, img)
	e.ExpectCheckpointedAway(c.ID, c.Pid)
	last := MustCounter(t, c.Count)

	id2 := e.ID("dst")
	cr := e.MustRun("create", "--bundle", c.Bundle, id2)
	created := e.ExpectStatus(id2, "created")
	time.Sleep(200 * time.Millisecond)
	if n := MustCounter(t, c.Count); n != last {
		t.Fatalf("the created container already runs its own process: counter %d -> %d", last, n)
	}

	// Foreground restore; whether it returns at once or stays with the container
	// is up to mycr: we only watch the container.
	p := e.Start(Stdio{}, "restore", "--image-path", img, id2)
	waitFor(t, 20*time.Second, id2+" to run the restored process", func() (bool, string) {
		if p.Exited() {
			if r := p.Wait(time.Second); r.Code != 0 {
				t.Fatalf("restore into the created container failed:\n%s", r)
			}
		}
		s, r, ok := e.State(id2)
		if !ok {
			return false, r.String()
		}
		return s.Status == "running", s.Status
	})
	s := e.MustState(id2)
	if s.Pid == created.Pid {
		t.Logf("restored process took over the created container's pid %d", s.Pid)
	}
	if first := MustCounter(t, c.Count); first < last {
		t.Fatalf("restored counter %d below %d: started over", first, last)
	}
	WaitCounterAbove(t, c.Count, last+5, 5*time.Second)
	// Output reaches the stdout the created container was given.
	waitFor(t, 5*time.Second, "the restored counter on the created container's stdout", func() (bool, string) {
		return cr.Out.LastInt() > last, cr.Out.String()
	})
	e.MustRun("delete", "--force", id2)
	e.ExpectNoState("after delete")
	if r := p.Wait(15 * time.Second); r.Code < 0 {
		t.Errorf("restore still running after the container was deleted:\n%s", r)
	}
}
