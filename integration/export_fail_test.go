package integration

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// exportFault makes `checkpoint --export` fail at one destination; it returns the
// command's result and the destination the test must find empty ("" for stdout).
type exportFault struct {
	name, fault string
	run         func(e *Env, c *Counter, i int) (Result, string)
}

var exportFaults = []exportFault{
	{"missing-dir", "--export into a directory that does not exist", func(e *Env, c *Counter, i int) (Result, string) {
		dest := filepath.Join(e.Dir, fmt.Sprint("no-such-dir", i), "ckpt.tar.zst")
		return e.Run("checkpoint", "--export", dest, c.ID), dest
	}},
	{"full-disk", "--export onto a full 16 KiB tmpfs (ENOSPC after the dump)", func(e *Env, c *Counter, i int) (Result, string) {
		dest := filepath.Join(tinyTmpfs(e, fmt.Sprint("tiny", i), "16k"), "ckpt.tar.zst")
		return e.Run("checkpoint", "--export", dest, c.ID), dest
	}},
	{"full-disk-leave-running", "--export --leave-running onto a full 16 KiB tmpfs", func(e *Env, c *Counter, i int) (Result, string) {
		dest := filepath.Join(tinyTmpfs(e, fmt.Sprint("tiny", i), "16k"), "ckpt.tar.zst")
		return e.Run("checkpoint", "--leave-running", "--export", dest, c.ID), dest
	}},
	{"pipe-reader-gone", "--export - into a pipe whose reader has exited", func(e *Env, c *Counter, _ int) (Result, string) {
		return exportToPipe(e, c, 0), ""
	}},
	{"pipe-reader-dies", "--export - into a pipe whose reader exits after 4 KiB (EPIPE after the dump)", func(e *Env, c *Counter, _ int) (Result, string) {
		return exportToPipe(e, c, 4096), ""
	}},
}

// TestExportFailureKeepsContainer: an export whose archive cannot be written
// never loses the container. A destination that is known to be unwritable is
// refused before the dump; one that fails after it (full disk, a pipe reader
// that dies) gets the container restored from its checkpoint. Either way it
// keeps counting, the error says what happened, no file is left at DEST, and
// no scratch images are left in the state root.
func TestExportFailureKeepsContainer(t *testing.T) {
	requireCRIU(t)
	for _, f := range exportFaults {
		t.Run(f.name, func(t *testing.T) {
			e := NewEnv(t)
			c := e.StartCounter("export-" + f.name)
			outcomes := map[string]int{}
			for i := 0; i < faultTrials(); i++ {
				before := MustCounter(t, c.Count)
				r, dest := f.run(e, c, i)
				out := e.exportOutcome(c, r, dest, before, f.fault)
				if outcomes[out]++; outcomes[out] == 1 {
					t.Logf("%s: what the user sees:\n%s", out, r.Stderr)
				}
			}
			logResult(t, reliabilityResult{Fault: f.fault, Trials: faultTrials(), Outcomes: outcomes})
		})
	}
}

// exportOutcome checks what a failed export left: the container running and
// counting, the error, nothing at dest, no scratch dir. It returns the outcome.
func (e *Env) exportOutcome(c *Counter, r Result, dest string, before int, what string) string {
	t := e.t
	t.Helper()
	if r.Err != nil {
		t.Errorf("%s: mycr did not exit by itself (%v): a dead pipe must be an error message, not a signal\n%s", what, r.Err, r)
	}
	if r.Code == 0 {
		t.Errorf("%s: the export reported success:\n%s", what, r)
	}
	if !strings.Contains(r.Stderr, "export") {
		t.Errorf("%s: the error does not say the export failed:\n%s", what, r)
	}
	if dest != "" {
		for _, p := range []string{dest, dest + ".part"} {
			if _, err := os.Lstat(p); err == nil {
				t.Errorf("%s: a failed export left %s", what, p)
			}
		}
	}
	if ents, _ := filepath.Glob(filepath.Join(e.Root, ".export-*")); len(ents) > 0 {
		t.Errorf("%s: scratch images left in the state root: %v", what, ents)
	}
	s := e.ExpectStatus(c.ID, "running")
	switch {
	case strings.Contains(r.Stderr, "nothing was checkpointed"):
		e.ExpectHealthy(c, before)
		return "refused before the dump, container untouched"
	case strings.Contains(r.Stderr, "keeps running (--leave-running)"):
		e.ExpectHealthy(c, before)
		return "failed after the dump, container left running"
	case strings.Contains(r.Stderr, "restored from its checkpoint and keeps running"):
		c.Pid = s.Pid
		e.ExpectHealthy(c, before)
		return "failed after the dump, container restored from its checkpoint"
	}
	t.Errorf("%s: the error does not say what became of the container:\n%s", what, r)
	return "unexplained"
}

// tinyTmpfs mounts a tmpfs of size under the test dir, unmounted at the end.
func tinyTmpfs(e *Env, name, size string) string {
	dir := e.Mkdir(name)
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		e.t.Fatalf("mount tmpfs: %v", err)
	}
	e.t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// exportToPipe runs `checkpoint --export - ID` with stdout into a pipe whose
// reader reads keep bytes, then closes its end (at once for 0).
func exportToPipe(e *Env, c *Counter, keep int64) Result {
	pr, pw, err := os.Pipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if keep == 0 {
		pr.Close()
	} else {
		go func() {
			_, _ = io.CopyN(io.Discard, pr, keep)
			pr.Close()
		}()
	}
	// Uncompressed, the archive is far larger than the pipe's 64 KiB buffer.
	p := e.startWith(func(cmd *exec.Cmd) { cmd.Stdout = pw }, "checkpoint", "--compress", "none", "--export", "-", c.ID)
	pw.Close()
	return p.Wait(defaultTimeout)
}

var keptImagesRe = regexp.MustCompile(`images are kept in (\S+):`)

// TestExportFailureNamesKeptImages: when the container cannot be restored by
// the failed export itself (a terminal container: its new pty needs a console
// socket), the images are kept, the error names them and the command that
// restores them, and that command brings the same shell back.
func TestExportFailureNamesKeptImages(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	vol := e.Mkdir("vol")
	count := filepath.Join(vol, "count")
	bundle := e.NewBundle(Terminal(), Shell(counterScript), Bind(vol, "/out"))
	id := e.ID("export-tty")
	cs := NewConsoleSocket(t)
	e.MustRun("run", "-d", "--console-socket", cs.Path, "--bundle", bundle, id)
	e.WaitStatus(id, "running", 5*time.Second)
	cs.Master(t, 10*time.Second)
	WaitCounterAbove(t, count, 2, 5*time.Second)

	dest := filepath.Join(tinyTmpfs(e, "tiny", "16k"), "ckpt.tar.zst")
	r := e.MustFail("checkpoint", "--export", dest, id)
	m := keptImagesRe.FindStringSubmatch(r.Stderr)
	if m == nil || !strings.Contains(r.Stderr, "restore -d --console-socket SOCKET --bundle "+bundle) {
		t.Fatalf("the error does not name the kept images and the command that restores them:\n%s", r)
	}
	img := m[1]
	if _, err := os.Stat(filepath.Join(img, "inventory.img")); err != nil {
		t.Fatalf("the named images %s are not there: %v", img, err)
	}
	for _, p := range []string{dest, dest + ".part"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("a failed export left %s", p)
		}
	}
	last := ExpectCounterStill(t, count, 300*time.Millisecond)
	cs2 := NewConsoleSocket(t)
	e.RestoreDetached(id, bundle, img, "--console-socket", cs2.Path)
	cs2.Master(t, 10*time.Second)
	WaitCounterAbove(t, count, last+3, 10*time.Second)
	logResult(t, reliabilityResult{Fault: "--export of a terminal container onto a full 16 KiB tmpfs", Trials: 1,
		Outcomes: map[string]int{"images kept and named, restored from them by the named command": 1}})
}
