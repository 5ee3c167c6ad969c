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

// envInt reads a size knob of the long tests (make soak raises them).
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// hostLeaks counts what a leak would grow: mounts, our open fds, cgroup dirs
// named after the test's containers, entries in the state root.
func hostLeaks(t *testing.T, e *Env, idPrefix string) map[string]int {
	t.Helper()
	count := func(glob string) int { m, _ := filepath.Glob(glob); return len(m) }
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	root, _ := os.ReadDir(e.Root)
	return map[string]int{
		"mounts":     strings.Count(string(mounts), "\n"),
		"fds":        count("/proc/self/fd/*"),
		"cgroups":    count("/sys/fs/cgroup/*/" + idPrefix + "*"),
		"root":       len(root),
		"criu procs": countCriu(),
	}
}

func countCriu() int {
	n := 0
	ents, _ := os.ReadDir("/proc")
	for _, d := range ents {
		if comm, err := os.ReadFile(filepath.Join("/proc", d.Name(), "comm")); err == nil && strings.TrimSpace(string(comm)) == "criu" {
			n++
		}
	}
	return n
}

// TestSoakCheckpointRestore: many checkpoint/restore cycles of one container; the
// counter strictly increases and nothing leaks (MYCR_SOAK_CYCLES, default 20;
// `make soak` runs 200 plus 50 with --leave-running).
func TestSoakCheckpointRestore(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	c := e.StartCounter("soak")
	cycles, leave := envInt("MYCR_SOAK_CYCLES", 20), envInt("MYCR_SOAK_LEAVE_RUNNING", 5)
	img := filepath.Join(e.Dir, "img")
	last := MustCounter(t, c.Count)
	for i := 0; i < leave; i++ { // warm-up, also the --leave-running cycles
		e.MustRun("checkpoint", "--leave-running", "--image-path", fmt.Sprintf("%s-lr%d", img, i), c.ID)
		last = WaitCounterAbove(t, c.Count, last, 5*time.Second)
		os.RemoveAll(fmt.Sprintf("%s-lr%d", img, i))
	}
	before := hostLeaks(t, e, c.ID)
	start := time.Now()
	for i := 0; i < cycles; i++ {
		dir := fmt.Sprintf("%s-%d", img, i)
		e.MustRun("checkpoint", "--image-path", dir, c.ID)
		stopped := MustCounter(t, c.Count)
		if stopped < last {
			t.Fatalf("cycle %d: counter went back from %d to %d", i, last, stopped)
		}
		e.MustRun("restore", "-d", "--bundle", c.Bundle, "--image-path", dir, c.ID)
		last = WaitCounterAbove(t, c.Count, stopped, 5*time.Second)
		os.RemoveAll(dir)
	}
	after := hostLeaks(t, e, c.ID)
	t.Logf("%d cycles in %v (%v per cycle); before %v after %v", cycles, time.Since(start).Round(time.Millisecond),
		(time.Since(start) / time.Duration(max(cycles, 1))).Round(time.Millisecond), before, after)
	for k, v := range after {
		if v > before[k] {
			t.Errorf("leak after %d cycles: %s grew from %d to %d", cycles, k, before[k], v)
		}
	}
}
