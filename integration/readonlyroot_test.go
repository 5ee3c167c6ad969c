package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestReadOnlyRootWithoutTmp: the default `mycr spec` (root.readonly true) on a
// rootfs without /tmp, as the README builds it. CRIU pivots into the restored
// root through its tmp dir and cannot make one in a read-only root, so such a
// checkpoint could never be restored, even after editing root.readonly (the
// mount flags come from the image).
func TestReadOnlyRootWithoutTmp(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	c := e.StartCounter("rotmp")
	if !ReadSpec(t, c.Bundle).Root.Readonly {
		t.Fatalf("`%s spec` no longer makes a read-only root: this test needs one", progName)
	}
	for i, edit := range []string{"as `spec` wrote it", "after setting root.readonly to false"} {
		img := filepath.Join(e.Dir, fmt.Sprintf("image%d", i))
		e.Checkpoint(c.ID, img)
		e.ExpectCheckpointedAway(c.ID, c.Pid)
		last := MustCounter(t, c.Count)
		if i == 1 {
			s := ReadSpec(t, c.Bundle)
			s.Root.Readonly = false
			WriteSpec(t, c.Bundle, s)
		}
		// The README's rootfs has no /tmp (the harness's has one).
		if err := os.RemoveAll(filepath.Join(c.Bundle, "rootfs", "tmp")); err != nil {
			t.Fatal(err)
		}
		r := e.Run("restore", "-d", "--bundle", c.Bundle, "--image-path", img, c.ID)
		if r.Code != 0 {
			t.Fatalf("restore of a read-only root without /tmp (%s):\n%s", edit, r)
		}
		c.Pid = e.ExpectStatus(c.ID, "running").Pid
		WaitCounterAbove(t, c.Count, last+3, 10*time.Second)
	}
}
