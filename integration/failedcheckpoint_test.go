package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestCheckpointNoSpace: checkpoint into a 64 KiB tmpfs fails with a message about
// space, and the container goes on running (not paused, same process, counting).
func TestCheckpointNoSpace(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	c := e.StartCounter("nospace")

	tiny := e.Mkdir("tiny")
	if err := unix.Mount("tmpfs", tiny, "tmpfs", 0, "size=64k"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(tiny, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", tiny, err)
		}
	})
	img := filepath.Join(tiny, "image")

	r := e.MustFail("checkpoint", "--image-path", img, c.ID)
	if !strings.Contains(strings.ToLower(r.Stderr), "space") {
		t.Errorf("checkpoint onto a full disk: the error should say it ran out of space\n%s", r)
	}
	e.ExpectRunningNotPaused(c.ID, c.Pid)
	WaitCounterAbove(t, c.Count, MustCounter(t, c.Count)+3, 5*time.Second)

	// And the container can still be checkpointed to a place with room.
	good := filepath.Join(e.Dir, "image")
	e.Checkpoint(c.ID, good)
	e.ExpectCheckpointedAway(c.ID, c.Pid)
	if _, err := os.Stat(filepath.Join(good, "inventory.img")); err != nil {
		t.Errorf("second checkpoint wrote no inventory.img: %v", err)
	}
}
