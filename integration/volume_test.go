package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// appendScript holds /data/log open (fd 3) and appends a line per tick: the restored
// process must get that open file back, at the right offset, in the right volume.
const appendScript = `exec 3>>/data/log; i=0; while true; do i=$((i+1)); echo $i >&3; sleep 0.1; done`

// TestRestoreVolume: a file in a bind-mounted host dir keeps growing after restore;
// then a restore from a second bundle whose bind source is another host dir (with a
// copy of the file) appends to the NEW source and leaves the old one alone.
func TestRestoreVolume(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	vol1 := e.Mkdir("vol")
	log1 := filepath.Join(vol1, "log")
	bundle1 := e.NewBundle(Shell(appendScript), Bind(vol1, "/data"))
	id := e.ID("vol")
	e.MustRun("run", "-d", "--bundle", bundle1, id)
	pid := e.WaitStatus(id, "running", 5*time.Second).Pid
	waitLogAbove(t, log1, 3)

	// Same bundle: the file keeps growing, no line lost or repeated.
	img1 := filepath.Join(e.Dir, "image1")
	e.Checkpoint(id, img1)
	e.ExpectCheckpointedAway(id, pid)
	last1 := expectLogSequence(t, log1)
	_, s := e.RestoreDetached(id, bundle1, img1)
	waitLogAbove(t, log1, last1+5)
	expectLogSequence(t, log1)

	// Second bundle, bind source vol2 holding a copy of the file.
	img2 := filepath.Join(e.Dir, "image2")
	e.Checkpoint(id, img2)
	e.ExpectCheckpointedAway(id, s.Pid)
	last2 := expectLogSequence(t, log1)
	vol2 := e.Mkdir("vol")
	log2 := filepath.Join(vol2, "log")
	if err := copyFile(log1, log2); err != nil {
		t.Fatal(err)
	}
	bundle2 := e.CopyBundle(bundle1, map[string]string{vol1: vol2})
	e.RestoreDetached(id, bundle2, img2)
	waitLogAbove(t, log2, last2+5)
	if got := expectLogSequence(t, log2); got <= last2 {
		t.Fatalf("new volume's log ends at %d", got)
	}
	time.Sleep(300 * time.Millisecond)
	if got := expectLogSequence(t, log1); got != last2 {
		t.Errorf("the OLD volume's log grew from %d to %d after restoring with the new bundle", last2, got)
	}
}

// waitLogAbove waits until the last line of the log is a number > n.
func waitLogAbove(t *testing.T, path string, n int) {
	t.Helper()
	waitFor(t, 5*time.Second, fmt.Sprintf("%s to pass %d", path, n), func() (bool, string) {
		last, _, err := LastLineInt(path)
		if err != nil {
			return false, err.Error()
		}
		return last > n, fmt.Sprintf("last line %d", last)
	})
}

// expectLogSequence checks the log is exactly 1..N, one per line, and returns N.
func expectLogSequence(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if i := strings.LastIndexByte(text, '\n'); i >= 0 {
		text = text[:i]
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if n, err := strconv.Atoi(l); err != nil || n != i+1 {
			t.Fatalf("%s: line %d is %q, want %d (a line was lost, repeated or overwritten)", path, i+1, l, i+1)
		}
	}
	return len(lines)
}
