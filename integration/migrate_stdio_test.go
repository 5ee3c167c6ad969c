package integration

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMigrateSameIDFallsBack: moving a container to another root on this host
// under the same ID cannot go lazily (the target needs the cgroup the frozen
// source holds); it goes by stop-and-copy and says why.
func TestMigrateSameIDFallsBack(t *testing.T) {
	requireCRIU(t)
	src, dst := NewEnv(t), NewEnv(t)
	c := src.StartCounter("mig-same")
	r := src.MustRun("migrate", "--to-root", dst.Root, c.ID)
	if !strings.Contains(r.Stderr, "--target-id") || !strings.Contains(r.Stdout, "stop-and-copy") {
		t.Errorf("want a stop-and-copy move with a hint at --target-id:\n%s", r)
	}
	src.ExpectGone(c.ID)
	dst.ExpectStatus(c.ID, "running")
	WaitCounterAbove(t, c.Count, MustCounter(t, c.Count)+5, defaultTimeout)
}

// TestMigrateKeepsFileStdio: a container run as the README's first example
// (stdout to a log file) migrates in both modes, and the moved container goes
// on writing into the same log, after what it wrote before (not over it).
func TestMigrateKeepsFileStdio(t *testing.T) {
	requireCRIU(t)
	for _, mode := range []string{"lazy", "stop-and-copy"} {
		t.Run(mode, func(t *testing.T) {
			src, dst := NewEnv(t), NewEnv(t)
			bundle, count := src.counterBundle(stdioScript)
			id := src.ID("mig-log")
			log := filepath.Join(src.Dir, "out.log")
			line := fmt.Sprintf("cd %s && exec %s %s run -d %s </dev/null >%s 2>&1", bundle, mycrBin, strings.Join(src.globals(), " "), id, log)
			if out, err := exec.Command("sh", "-c", line).CombinedOutput(); err != nil {
				t.Fatalf("%s: %v %s", line, err, out)
			}
			src.WaitStatus(id, "running", defaultTimeout)
			sink := &stdioSink{kind: "file", path: log}
			expectCounting(t, sink, count, 0)

			// A new ID, as the README does: on one host the lazy target runs
			// beside the frozen source, and cgroup paths follow the ID.
			moved := dst.ID("mig-log-moved")
			r := src.MustRun("migrate", "--mode", mode, "--to-root", dst.Root, "--target-id", moved, id)
			t.Logf("%s", lastLine(r.Stdout))
			src.ExpectGone(id)
			dst.ExpectStatus(moved, "running")
			expectCounting(t, sink, count, readCounterNow(t, count))
			if nums := sink.numbers(); nums[0] != 1 {
				t.Errorf("out.log now starts at %d: the moved container wrote over what it had written", nums[0])
			}
		})
	}
}
