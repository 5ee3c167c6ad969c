package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// lockRoot is a fresh state root whose locks give up after 100 ms.
func lockRoot(t *testing.T) *Root {
	w := lockWait
	lockWait = 100 * time.Millisecond
	t.Cleanup(func() { lockWait = w })
	r, err := OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// mkState makes id's state directory, as libcontainer's create does.
func mkState(t *testing.T, r *Root, id string) {
	if err := os.Mkdir(r.StateDir(id), 0o700); err != nil {
		t.Fatal(err)
	}
}

// A command that waits in vain for an existing container's lock names the holder
// (found in /proc/locks), and the holder's unlock frees it. Locking an existing
// container creates no lock file.
func TestLockBusyNamesHolder(t *testing.T) {
	r := lockRoot(t)
	mkState(t, r, "c1") // the container exists
	held, err := r.Lock("c1", "checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Lock("c1", "delete")
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("second lock: %v, want ErrBusy", err)
	}
	if want := "pid " + strconv.Itoa(os.Getpid()) + ": " + os.Args[0]; !strings.Contains(err.Error(), want) {
		t.Errorf("busy error %q does not name the holder %q", err, want)
	}
	if !strings.Contains(err.Error(), "cannot delete it") {
		t.Errorf("busy error %q does not say what waited", err)
	}
	if _, err := os.Stat(filepath.Join(r.Dir, ".locks", "c1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file of an existing container: %v, want none", err)
	}
	held.Unlock()
	again, err := r.Lock("c1", "delete")
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	again.Unlock()
}

// A restore locks an ID before its state directory exists; a command that finds
// the directory while the restore fills it in must wait for the restore. The lock
// file goes once the container is gone.
func TestLockWaitsForCreator(t *testing.T) {
	r := lockRoot(t)
	restore, err := r.Lock("c2", "restore")
	if err != nil {
		t.Fatal(err)
	}
	mkState(t, r, "c2") // libcontainer creates it
	if _, err := r.Lock("c2", "delete"); !errors.Is(err, ErrBusy) {
		t.Fatalf("delete during the restore: %v, want ErrBusy", err)
	}
	restore.Unlock()
	del, err := r.Lock("c2", "delete")
	if err != nil {
		t.Fatalf("delete after the restore: %v", err)
	}
	if err := os.Remove(r.StateDir("c2")); err != nil { // the delete
		t.Fatal(err)
	}
	del.Unlock()
	if _, err := os.Stat(filepath.Join(r.Dir, ".locks", "c2")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file after the container is gone: %v, want none", err)
	}
}

// A restore that replaces a created container (a new state directory) keeps
// other commands out of the new directory.
func TestLockCreatingCoversReplacedDir(t *testing.T) {
	r := lockRoot(t)
	mkState(t, r, "c3") // the created container
	restore, err := r.LockCreating("c3", "restore")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(r.StateDir("c3")); err != nil { // replaced by a new one
		t.Fatal(err)
	}
	mkState(t, r, "c3")
	if _, err := r.Lock("c3", "start"); !errors.Is(err, ErrBusy) {
		t.Fatalf("start during the restore: %v, want ErrBusy", err)
	}
	restore.Unlock()
	start, err := r.Lock("c3", "start")
	if err != nil {
		t.Fatalf("start after the restore: %v", err)
	}
	start.Unlock()
}
