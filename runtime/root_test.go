package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestLoadOnlyReads: Load leaves the record of an interrupted operation (here
// a checkpoint by a dead mycr, already repaired by its guard) alone; Recover,
// which the verbs call, reports it and removes it; LoadForChange recovers
// under the lock.
func TestLoadOnlyReads(t *testing.T) {
	r := lockRoot(t)
	for _, id := range []string{"c1", "c2"} {
		path := r.intentPath(id)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := writeIntent(path, intent{Op: "checkpoint", Pid: 4242, Outcome: "repaired by its guard"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Load("c1"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("load of a container that does not exist: %v", err)
	}
	if _, err := os.Stat(r.intentPath("c1")); err != nil {
		t.Fatalf("Load acted on the record: %v", err)
	}
	r.Recover("c1")
	if _, err := os.Stat(r.intentPath("c1")); !os.IsNotExist(err) {
		t.Errorf("Recover left the reported record: %v", err)
	}
	if _, _, err := r.LoadForChange("c2", "pause"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("LoadForChange of a container that does not exist: %v", err)
	}
	if _, err := os.Stat(r.intentPath("c2")); !os.IsNotExist(err) {
		t.Errorf("LoadForChange did not recover: %v", err)
	}
}
