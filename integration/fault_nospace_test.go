package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestCheckpointNoSpaceRepeated: checkpoints into small tmpfs image dirs of
// random sizes (4 KiB up to about a full image), so the disk fills at a
// different point of the dump each time: pages, core images, the log, the
// inventory. Each failed checkpoint says the disk is full; the container keeps
// running unfrozen and counting; a dump that fitted restores.
func TestCheckpointNoSpaceRepeated(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	c := e.StartCounter("enospc")
	rnd := newRand(t)
	full := imageSize(t, e, c)
	outcomes := map[string]int{}
	for i := 0; i < faultTrials(); i++ {
		kb := 4 * (1 + rnd.Intn(int(full/4096)+2))
		dir := e.Mkdir(fmt.Sprint("tiny", i))
		if err := unix.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%dk,mode=0700", kb)); err != nil {
			t.Fatalf("mount tmpfs: %v", err)
		}
		img := filepath.Join(dir, "image")
		before := MustCounter(t, c.Count)
		r := e.Run("checkpoint", "--image-path", img, c.ID)
		what := fmt.Sprintf("checkpoint into a %d KiB tmpfs", kb)
		if r.Code != 0 && !strings.Contains(strings.ToLower(r.Stderr), "space") {
			t.Errorf("%s: the error does not say the disk is full:\n%s", what, r)
		}
		if r.Code == 0 {
			// The image fitted, maybe to the last block: a restore that logs
			// there has no room for its log and must say so.
			if rr := e.Run("restore", "-d", "--bundle", c.Bundle, "--image-path", img, c.ID); rr.Code != 0 {
				if !strings.Contains(rr.Stderr, "full") && !strings.Contains(rr.Stderr, "space") {
					t.Errorf("%s: restore with its log on the full tmpfs: the error does not say it is full:\n%s", what, rr)
				}
				e.ExpectNothingLeft(c.ID, what+", failed restore")
			} else {
				img = filepath.Join(e.Dir, fmt.Sprint("img-again", i)) // back to checkpointed, elsewhere
				e.MustRun("checkpoint", "--image-path", img, c.ID)
			}
		}
		out := e.dumpOutcome(c, r, img, before, what, "--work-path", e.Mkdir("work"))
		outcomes[out]++
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	}
	logResult(t, reliabilityResult{Fault: fmt.Sprintf("image dir on a full tmpfs (ENOSPC), random sizes 4 KiB..%d KiB", full/1024+8),
		Trials: faultTrials(), Outcomes: outcomes})
}

// imageSize checkpoints c once with --leave-running and returns the size of the
// image dir it wrote, log included.
func imageSize(t *testing.T, e *Env, c *Counter) int64 {
	t.Helper()
	img := filepath.Join(e.Dir, "img-size")
	e.Checkpoint(c.ID, img, "--leave-running")
	var n int64
	filepath.Walk(img, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += (fi.Size() + 4095) / 4096 * 4096
		}
		return nil
	})
	t.Logf("a full image takes %d KiB", n/1024)
	return n
}
