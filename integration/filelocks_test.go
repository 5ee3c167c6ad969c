package integration

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestFileLocks: a container holding a flock on a file in its volume cannot be
// checkpointed without --file-locks (and keeps running); with it, the lock is
// released while checkpointed and held again by the restored process.
func TestFileLocks(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	vol := e.Mkdir("vol")
	lock := filepath.Join(vol, "lock")
	count := filepath.Join(vol, "count")
	bundle := e.NewBundle(WithNetprog(), Bind(vol, "/out"),
		Args("/bin/netprog", "-lock", "/out/lock", "-out", "/out/count"))
	id := e.ID("locks")
	e.MustRun("run", "-d", "--bundle", bundle, id)
	pid := e.WaitStatus(id, "running", 5*time.Second).Pid
	waitReplies(t, count, 3)
	expectLocked(t, lock, true)

	r := e.MustFail("checkpoint", "--image-path", filepath.Join(e.Dir, "image-refused"), id)
	if !strings.Contains(strings.ToLower(r.Stderr), "lock") {
		t.Errorf("checkpoint of a process holding a file lock without --file-locks: the error should say why (mention locks)\n%s", r)
	}
	e.ExpectRunningNotPaused(id, pid)
	waitReplies(t, count, lastReply(t, count)+2)
	expectLocked(t, lock, true)

	img := filepath.Join(e.Dir, "image")
	e.Checkpoint(id, img, "--file-locks")
	e.ExpectCheckpointedAway(id, pid)
	expectLocked(t, lock, false)
	last := lastReply(t, count)

	e.RestoreDetached(id, bundle, img, "--file-locks")
	waitReplies(t, count, last+3)
	expectLogSequence(t, count)
	expectLocked(t, lock, true)
}

// expectLocked checks from the host whether someone holds a flock on path.
func expectLocked(t *testing.T, path string, locked bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	switch {
	case err == nil:
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		if locked {
			t.Fatalf("%s is not locked: the container's flock is gone", path)
		}
	case errors.Is(err, unix.EWOULDBLOCK):
		if !locked {
			t.Fatalf("%s is still locked although its holder is checkpointed away", path)
		}
	default:
		t.Fatalf("flock %s: %v", path, err)
	}
}
