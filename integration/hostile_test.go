package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestHostileImagePaths: an image path that is a symlink (e.g. into another
// container's state dir) or on a read-only filesystem is refused with the reason;
// the container keeps running and nothing is written through the link.
func TestHostileImagePaths(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	c := e.StartCounter("hostile")
	victim := e.Mkdir("other-container-state")
	link := filepath.Join(e.Dir, "link")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	r := e.MustFail("checkpoint", "--image-path", link, c.ID)
	expectMentions(t, r, "symlinked image path", "symlink")
	if ents, _ := os.ReadDir(victim); len(ents) != 0 {
		t.Fatalf("checkpoint wrote %d files through the symlink", len(ents))
	}

	ro := e.Mkdir("ro")
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", ro).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a read-only tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", ro).Run() })
	r = e.MustFail("checkpoint", "--image-path", filepath.Join(ro, "img"), c.ID)
	expectMentions(t, r, "read-only image path", "read-only")
	e.ExpectRunningNotPaused(c.ID, c.Pid)
	WaitCounterAbove(t, c.Count, MustCounter(t, c.Count)+2, 5*time.Second)
	logResult(t, reliabilityResult{Fault: "hostile image paths: a symlink to another dir, a read-only filesystem",
		Trials: 2, Outcomes: map[string]int{"refused with the reason, nothing written through the link, container running": 2}})
}
