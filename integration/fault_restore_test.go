package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRestoreFailuresLeaveNothing: restores that fail (busy ID, corrupt image)
// leave no container, state or cgroup behind, and a retry after fixing the cause
// works. Repeated.
func TestRestoreFailuresLeaveNothing(t *testing.T) {
	requireCRIU(t)
	src, dst := NewEnv(t), NewEnv(t)
	c := src.StartCounter("rfail")
	img := filepath.Join(src.Dir, "img")
	src.Checkpoint(c.ID, img)
	last := ExpectCounterStill(t, c.Count, 300*time.Millisecond)
	pages, _ := filepath.Glob(filepath.Join(img, "pages-*.img"))
	cores, _ := filepath.Glob(filepath.Join(img, "core-*.img"))
	if len(pages) == 0 || len(cores) == 0 {
		t.Fatal("no pages or core image")
	}
	good, err := os.ReadFile(cores[0])
	if err != nil {
		t.Fatal(err)
	}
	trials := envInt("MYCR_FAULT_TRIALS", 20) / 4
	for i := 0; i < max(trials, 1); i++ {
		// Corrupt: a truncated core image.
		if err := os.WriteFile(cores[0], good[:len(good)/3], 0o600); err != nil {
			t.Fatal(err)
		}
		id := dst.ID(fmt.Sprint("corrupt", i))
		r := dst.MustFail("restore", "-d", "--bundle", c.Bundle, "--image-path", img, id)
		if !strings.Contains(r.Stderr, "restore.log") {
			t.Errorf("corrupt image: the error does not point at CRIU's log:\n%s", r)
		}
		dst.ExpectNoState(fmt.Sprint("after corrupt-image restore ", i))
		if err := os.WriteFile(cores[0], good, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Busy ID: the ID is taken by a running container.
	busy := dst.StartCounter("busy")
	r := dst.MustFail("restore", "-d", "--bundle", c.Bundle, "--image-path", img, busy.ID)
	expectMentions(t, r, "busy id", "already exists")
	dst.ExpectStatus(busy.ID, "running")
	dst.MustRun("delete", "--force", busy.ID)
	// Retry with the cause fixed.
	dst.MustRun("restore", "-d", "--bundle", c.Bundle, "--image-path", img, busy.ID)
	WaitCounterAbove(t, c.Count, last+3, 5*time.Second)
}
