package integration

import (
	"path/filepath"
	"testing"
	"time"
)

// TestRestoreKeepsPipeStdio: a detached container's stdout is the pipe mycr got;
// after checkpoint the old pipe closes, and the restored container writes into the
// new pipe given to `restore -d`, continuing the count.
func TestRestoreKeepsPipeStdio(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	bundle := e.NewBundle(Shell(`i=0; while true; do i=$((i+1)); echo $i; echo e$i >&2; sleep 0.1; done`))
	id := e.ID("pipes")
	run := e.MustRun("run", "-d", "--bundle", bundle, id)
	pid := e.WaitStatus(id, "running", 5*time.Second).Pid
	waitFor(t, 5*time.Second, "numbers on the container's stdout pipe", func() (bool, string) {
		return run.Out.LastInt() >= 5, run.Out.String()
	})
	if got := run.ErrOut.String(); len(got) == 0 {
		t.Errorf("nothing arrived on the stderr pipe")
	}

	img := filepath.Join(e.Dir, "image")
	e.Checkpoint(id, img)
	e.ExpectCheckpointedAway(id, pid)
	if !run.Out.WaitEOF(5 * time.Second) {
		t.Errorf("the old stdout pipe is still open after checkpoint (someone still holds its write end)")
	}
	old := run.Out.LastInt()
	checkIncreasing(t, "old pipe", run.Out.Ints())

	r, _ := e.RestoreDetached(id, bundle, img)
	waitFor(t, 5*time.Second, "the count to continue on the new stdout pipe", func() (bool, string) {
		return r.Out.LastInt() > old+5, r.Out.String()
	})
	nums := r.Out.Ints()
	if nums[0] < old {
		t.Errorf("new pipe starts at %d, below %d where the old one stopped: the count started over", nums[0], old)
	}
	checkIncreasing(t, "new pipe", nums)
	if run.Out.LastInt() != old {
		t.Errorf("the old pipe received more output after the checkpoint")
	}
	waitFor(t, 5*time.Second, "output on the new stderr pipe", func() (bool, string) {
		return len(r.ErrOut.String()) > 0, ""
	})
}

// checkIncreasing fails unless nums is strictly increasing by one.
func checkIncreasing(t *testing.T, what string, nums []int) {
	t.Helper()
	for i := 1; i < len(nums); i++ {
		if nums[i] != nums[i-1]+1 {
			t.Errorf("%s: %d follows %d (sequence %v)", what, nums[i], nums[i-1], nums)
			return
		}
	}
}
