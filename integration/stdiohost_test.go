package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReadmeRunDetachedToFile is the README's first example as a person types
// it: `mycr run -d web1 </dev/null >out.log 2>&1` in the bundle, checkpoint,
// then restore with stdout to another file: the new file grows with the count
// going on, the old one stops.
func TestReadmeRunDetachedToFile(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	bundle, count := e.counterBundle(stdioScript)
	id := e.ID("web")
	shell := func(redirect string, args ...string) {
		t.Helper()
		line := fmt.Sprintf("cd %s && exec %s %s %s %s", bundle, mycrBin, strings.Join(e.globals(), " "), strings.Join(args, " "), redirect)
		if out, err := exec.Command("sh", "-c", line).CombinedOutput(); err != nil {
			logs, _ := os.ReadFile(filepath.Join(e.Dir, "out2.log"))
			t.Fatalf("%s: %v %s %s", line, err, out, logs)
		}
	}
	out1, out2 := filepath.Join(e.Dir, "out.log"), filepath.Join(e.Dir, "out2.log")
	shell("</dev/null >"+out1+" 2>&1", "run", "-d", id)
	e.WaitStatus(id, "running", defaultTimeout)
	old := &stdioSink{kind: "file", path: out1}
	expectCounting(t, old, count, 0)

	img := filepath.Join(e.Dir, "cp")
	shell("</dev/null >/dev/null 2>&1", "checkpoint", "--image-path", img, id)
	e.ExpectGone(id)
	stopped := readCounterNow(t, count)

	shell("</dev/null >"+out2+" 2>&1", "restore", "-d", "--image-path", img, id)
	e.ExpectStatus(id, "running")
	restored := &stdioSink{kind: "file", path: out2}
	expectCounting(t, restored, count, stopped)
	if m := old.max(); m > stopped {
		t.Errorf("out.log received %d after the checkpoint stopped the count at %d", m, stopped)
	}
	if nums := restored.numbers(); nums[0] < stopped-1 {
		t.Errorf("out2.log starts at %d: the count did not go on from %d", nums[0], stopped)
	}
}

// TestStdioTerminalImageOntoFile: a container run from a terminal checkpoints;
// CRIU can put that terminal back only onto a terminal, so a restore with
// stdout to a file is refused in plain words, nothing is left, and the same
// image then restores onto a terminal.
func TestStdioTerminalImageOntoFile(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	bundle, count := e.counterBundle(stdioScript)
	id := e.ID("tty")
	tty := openTerminalSink(t, e)
	if r := tty.run(e, "run", "-d", "--bundle", bundle, id); r.Code != 0 {
		t.Fatalf("run -d from a terminal: %v", r)
	}
	pid := e.WaitStatus(id, "running", defaultTimeout).Pid
	expectCounting(t, tty, count, 0)
	img := filepath.Join(e.Dir, "cp")
	e.Checkpoint(id, img)
	e.ExpectCheckpointedAway(id, pid)
	stopped := readCounterNow(t, count)

	file := openFileSink(t, e)
	file.files[2] = nil // mycr's own stderr to the harness, to read the error
	r := e.start(Stdio{}, func(c *exec.Cmd) { c.Stdin, c.Stdout = file.files[0], file.files[1] },
		"restore", "-d", "--bundle", bundle, "--image-path", img, id).Wait(defaultTimeout)
	if r.Code == 0 {
		t.Fatalf("restore of a terminal's container onto a file succeeded: %v", r)
	}
	if !strings.Contains(r.Stderr, "can put such a terminal back only onto a terminal") || strings.Contains(r.Stderr, "tty.c") {
		t.Errorf("the refusal does not say in plain words why: %s", r.Stderr)
	}
	e.ExpectGone(id)
	e.ExpectNothingLeft(id, "refused restore")

	tty2 := openTerminalSink(t, e)
	if r := tty2.run(e, "restore", "-d", "--bundle", bundle, "--image-path", img, id); r.Code != 0 {
		t.Fatalf("restore onto a terminal after the refusal: %v", r)
	}
	expectCounting(t, tty2, count, stopped)
}

// TestStdioClosedTerminal: the terminal a container was run from is closed;
// CRIU cannot restore a hung-up terminal, so the checkpoint is refused in
// plain words and the container keeps running.
func TestStdioClosedTerminal(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	bundle, count := e.counterBundle(countAndPrint("echo n$i 2>/dev/null"))
	id := e.ID("closed")
	master, slave := openPty(t)
	r := e.start(Stdio{}, func(c *exec.Cmd) { c.Stdin, c.Stdout, c.Stderr = slave, slave, slave },
		"run", "-d", "--bundle", bundle, id).Wait(defaultTimeout)
	if r.Code != 0 {
		t.Fatalf("run -d from a terminal: %v", r)
	}
	pid := e.WaitStatus(id, "running", defaultTimeout).Pid
	master.Close()
	slave.Close()
	n := WaitCounterAbove(t, count, 2, defaultTimeout)
	res := e.MustFail("checkpoint", "--image-path", filepath.Join(e.Dir, "cp"), id)
	if !strings.Contains(res.Stderr, "closed (hung up)") {
		t.Errorf("the refusal does not name the closed terminal: %s", res.Stderr)
	}
	e.ExpectRunningNotPaused(id, pid)
	WaitCounterAbove(t, count, n+3, defaultTimeout)
}

// TestStdioExtraFdOnHostFile: a descriptor beyond stdio on a host file
// (--preserve-fds) checkpoints; the restore opens the same file again and the
// container keeps appending to it.
func TestStdioExtraFdOnHostFile(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	bundle, count := e.counterBundle(countAndPrint("echo n$i >&3"))
	id := e.ID("fd3")
	logPath := filepath.Join(e.Dir, "fd3.log")
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	r := e.start(Stdio{}, func(c *exec.Cmd) { c.ExtraFiles = []*os.File{f} },
		"run", "-d", "--preserve-fds", "1", "--bundle", bundle, id).Wait(defaultTimeout)
	f.Close()
	if r.Code != 0 {
		t.Fatalf("run -d --preserve-fds 1: %v", r)
	}
	pid := e.WaitStatus(id, "running", defaultTimeout).Pid
	sink := &stdioSink{kind: "file", path: logPath}
	expectCounting(t, sink, count, 0)
	img := filepath.Join(e.Dir, "cp")
	e.Checkpoint(id, img)
	e.ExpectCheckpointedAway(id, pid)
	stopped := readCounterNow(t, count)
	time.Sleep(200 * time.Millisecond) // nothing more arrives while it is away
	if m := sink.max(); m > stopped {
		t.Fatalf("fd 3's file received %d after the count stopped at %d", m, stopped)
	}
	e.RestoreDetached(id, bundle, img)
	expectCounting(t, sink, count, stopped)
	checkIncreasing(t, "fd 3's file", sink.numbers())
}
