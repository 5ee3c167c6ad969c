package integration

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// requireCRIU skips a checkpoint/restore test on a machine without CRIU.
func requireCRIU(t *testing.T) {
	t.Helper()
	if c := os.Getenv("MYCR_CRIU"); c != "" {
		if _, err := os.Stat(c); err != nil {
			t.Skipf("MYCR_CRIU=%s: %v", c, err)
		}
		return
	}
	if _, err := exec.LookPath("criu"); err != nil {
		t.Skip("criu is not installed (scripts/install-deps.sh installs it)")
	}
}

// Counter is a detached container running counterScript against a host volume.
type Counter struct {
	ID     string
	Bundle string
	Vol    string // host dir bind-mounted at /out
	Count  string // Vol/count
	Pid    int
	Run    Result // the `run -d` command (its streams are the container's stdio)
}

// StartCounter runs a detached counter container and waits until it counts.
func (e *Env) StartCounter(name string, opts ...BundleOpt) *Counter {
	e.t.Helper()
	c := &Counter{ID: e.ID(name), Vol: e.Mkdir("vol")}
	c.Count = filepath.Join(c.Vol, "count")
	c.Bundle = e.NewBundle(append([]BundleOpt{Shell(counterScript), Bind(c.Vol, "/out")}, opts...)...)
	c.Run = e.MustRun("run", "-d", "--bundle", c.Bundle, c.ID)
	c.Pid = e.WaitStatus(c.ID, "running", 5*time.Second).Pid
	WaitCounterAbove(e.t, c.Count, 2, 5*time.Second)
	return c
}

// Checkpoint runs `checkpoint [flags] --image-path img id`, which must succeed.
func (e *Env) Checkpoint(id, img string, flags ...string) Result {
	e.t.Helper()
	args := append([]string{"checkpoint"}, flags...)
	return e.MustRun(append(args, "--image-path", img, id)...)
}

// RestoreDetached runs `restore -d [flags] --bundle b --image-path img id`, which must
// succeed and leave id running.
func (e *Env) RestoreDetached(id, bundle, img string, flags ...string) (Result, State) {
	e.t.Helper()
	args := append([]string{"restore", "-d"}, flags...)
	r := e.MustRun(append(args, "--bundle", bundle, "--image-path", img, id)...)
	s := e.ExpectStatus(id, "running")
	if s.Pid <= 0 || !pidAlive(s.Pid) {
		e.t.Fatalf("restored container %s: pid %d is not a live process", id, s.Pid)
	}
	return r, s
}

// ExpectCheckpointedAway checks a checkpoint without --leave-running took the
// container away: no state, its process gone.
func (e *Env) ExpectCheckpointedAway(id string, pid int) {
	e.t.Helper()
	e.ExpectGone(id)
	WaitPidGone(e.t, pid, 5*time.Second)
}

// ExpectRunningNotPaused checks id is running (not paused) with the same process.
func (e *Env) ExpectRunningNotPaused(id string, pid int) {
	e.t.Helper()
	s := e.MustState(id)
	if s.Status != "running" {
		e.t.Fatalf("container %s is %q, expected running (not paused)", id, s.Status)
	}
	if s.Pid != pid || !pidAlive(pid) {
		e.t.Fatalf("container %s: pid %d (alive %v), expected the original %d", id, s.Pid, pidAlive(s.Pid), pid)
	}
}

// ExpectPrivateImage checks the image dir is 0700 and its files 0600 (no access
// for group or others: images hold the container's memory).
func ExpectPrivateImage(t *testing.T, img string) {
	t.Helper()
	st, err := os.Stat(img)
	if err != nil {
		t.Fatalf("image dir: %v", err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("image dir %s has mode %v, want 0700", img, st.Mode().Perm())
	}
	n := 0
	var loose []string
	filepath.WalkDir(img, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		n++
		if info, err := d.Info(); err == nil && info.Mode().Perm()&0o077 != 0 {
			loose = append(loose, fmt.Sprintf("%s %v", d.Name(), info.Mode().Perm()))
		}
		return nil
	})
	if len(loose) > 0 {
		t.Errorf("image dir %s: %d of %d files are readable by group/others, want 0600: %s", img, len(loose), n, strings.Join(loose, ", "))
	}
	if n == 0 {
		t.Errorf("image dir %s holds no files", img)
	}
}
