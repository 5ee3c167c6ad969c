package runtime

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A command that waits in vain for a container's lock names the holder (found in
// /proc/locks: the lock file stays empty), and the holder's unlock frees it.
func TestLockBusyNamesHolder(t *testing.T) {
	r, err := OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(r.StateDir("c1"), 0o700); err != nil { // the container exists
		t.Fatal(err)
	}
	held, err := r.Lock("c1", "checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	defer func(w time.Duration) { lockWait = w }(lockWait)
	lockWait = 100 * time.Millisecond
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
	if st, err := os.Stat(held.f.Name()); err != nil || st.Size() != 0 {
		t.Errorf("lock file: %v, size %v; want an empty file", err, st)
	}
	held.Unlock()
	again, err := r.Lock("c1", "delete")
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	again.Unlock()
}
