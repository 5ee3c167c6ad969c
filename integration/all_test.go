package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAllKeepsPausedAndNamesFailed: around a reboot, `checkpoint --all` and
// `restore --all` bring every container back in the state it was in (a paused
// one stays paused), and a container whose checkpoint failed is named by
// restore --all with the reason, never skipped silently: a note while that
// container still runs, a failure (non-zero exit) once it is gone.
func TestAllKeepsPausedAndNamesFailed(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	running := e.StartCounter("all-run")
	paused := e.StartCounter("all-paused")
	e.MustRun("pause", paused.ID)
	failing := startSocketStdoutCounter(t, e, "all-fail", counterScript) // CRIU cannot dump a host socket

	images := filepath.Join(e.Dir, "all")
	ck := e.Run("checkpoint", "--all", "--image-root", images)
	if ck.Code == 0 || !strings.Contains(ck.Stderr, "FAILED "+failing.ID) {
		t.Fatalf("checkpoint --all should fail naming %s:\n%s", failing.ID, ck)
	}
	e.ExpectCheckpointedAway(running.ID, running.Pid)
	e.ExpectCheckpointedAway(paused.ID, paused.Pid)
	e.ExpectStatus(failing.ID, "running")
	frozenAt := MustCounter(t, paused.Count)

	// Daemon upgrade: the failed one still runs.
	res := e.Run("restore", "--all", "--image-root", images)
	if res.Code != 0 {
		t.Fatalf("restore --all with the failed container still running:\n%s", res)
	}
	note := "skipped " + failing.ID + " (" + filepath.Join(images, failing.ID) + ")"
	if !strings.Contains(res.Stderr, note) || !strings.Contains(res.Stderr, "still exists") {
		t.Errorf("restore --all does not say it skipped %s and why (want %q):\n%s", failing.ID, note, res)
	}
	e.ExpectStatus(running.ID, "running")
	WaitCounterAbove(t, running.Count, MustCounter(t, running.Count)+3, 10*time.Second)
	e.ExpectStatus(paused.ID, "paused")
	if n := ExpectCounterStill(t, paused.Count, time.Second); n > frozenAt+1 {
		t.Fatalf("restored paused container counted from %d to %d", frozenAt, n)
	}
	e.MustRun("resume", paused.ID)
	WaitCounterAbove(t, paused.Count, frozenAt+3, 10*time.Second)

	// Reboot: nothing runs any more; the failed container is lost and must be named.
	for _, c := range []*Counter{running, paused, failing} {
		pid := e.MustState(c.ID).Pid
		e.MustRun("delete", "--force", c.ID)
		WaitPidGone(t, pid, 10*time.Second)
	}
	res = e.Run("restore", "--all", "--image-root", images)
	if res.Code == 0 {
		t.Fatalf("restore --all exited 0 though %s's checkpoint had failed:\n%s", failing.ID, res)
	}
	if !strings.Contains(res.Stderr, "FAILED "+failing.ID) || !strings.Contains(res.Stderr, "dump.log") {
		t.Errorf("restore --all does not name %s and its dump.log:\n%s", failing.ID, res)
	}
	e.ExpectStatus(running.ID, "running")
	e.ExpectStatus(paused.ID, "paused")
}

// startSocketStdoutCounter starts a counter running script whose stdout is a
// host socketpair end (which CRIU cannot dump).
func startSocketStdoutCounter(t *testing.T, e *Env, name, script string) *Counter {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "test-end"), os.NewFile(uintptr(fds[1]), "container-end")
	t.Cleanup(func() { ours.Close() })
	c := &Counter{ID: e.ID(name), Vol: e.Mkdir("vol")}
	c.Count = filepath.Join(c.Vol, "count")
	c.Bundle = e.NewBundle(Shell(script), Bind(c.Vol, "/out"))
	run := e.startWith(func(cmd *exec.Cmd) { cmd.Stdout = theirs }, "run", "-d", "--bundle", c.Bundle, c.ID)
	if r := run.Wait(defaultTimeout); r.Code != 0 {
		t.Fatalf("run: %s", r)
	}
	theirs.Close()
	c.Pid = e.WaitStatus(c.ID, "running", 5*time.Second).Pid
	WaitCounterAbove(t, c.Count, 2, 5*time.Second)
	return c
}
