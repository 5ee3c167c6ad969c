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

// ownLeaks counts what a leak of e's commands would grow, and only that (other
// tests and other users of this machine run containers and CRIU at the same
// time): mounts under e's dirs, this process's fds, cgroup dirs of e's
// containers, state dirs, intent records and orphaned lock files in e's root, criu
// processes working in e's dirs.
func ownLeaks(e *Env) map[string]int {
	e.mu.Lock()
	ids := append([]string(nil), e.ids...)
	e.mu.Unlock()
	fds, _ := filepath.Glob("/proc/self/fd/*")
	states := 0 // a container's state is a dir; files there are caches of mycr's
	if ents, err := os.ReadDir(e.Root); err == nil {
		for _, d := range ents {
			if d.IsDir() && !strings.HasPrefix(d.Name(), ".") {
				states++
			}
		}
	}
	intents, _ := filepath.Glob(filepath.Join(e.Root, ".intent", "*"))
	orphanLocks := 0 // a lock file of a container that no longer exists
	locks, _ := filepath.Glob(filepath.Join(e.Root, ".locks", "*"))
	for _, l := range locks {
		if _, err := os.Stat(filepath.Join(e.Root, filepath.Base(l))); err != nil {
			orphanLocks++
		}
	}
	cg := 0
	for _, id := range ids {
		cg += len(cgroupDirs(id))
	}
	return map[string]int{
		"mounts":       len(mountsUnder(e.Root, e.Dir)),
		"fds":          len(fds),
		"cgroups":      cg,
		"state dirs":   states,
		"intents":      len(intents),
		"orphan locks": orphanLocks,
		"criu procs":   len(criuUsing(e.Root, e.Dir)),
	}
}

// criuUsing lists criu processes whose cwd or an open file is below one of dirs.
func criuUsing(dirs ...string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, d := range ents {
		proc := filepath.Join("/proc", d.Name())
		if comm, err := os.ReadFile(filepath.Join(proc, "comm")); err != nil || strings.TrimSpace(string(comm)) != "criu" {
			continue
		}
		links, _ := filepath.Glob(filepath.Join(proc, "fd", "*"))
		for _, l := range append(links, filepath.Join(proc, "cwd")) {
			if target, err := os.Readlink(l); err == nil && under(target, dirs...) {
				pid, _ := strconv.Atoi(d.Name())
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

func under(path string, dirs ...string) bool {
	for _, d := range dirs {
		if path == d || strings.HasPrefix(path, d+"/") {
			return true
		}
	}
	return false
}

// expectNoGrowth fails the test for each count that grew from before to after.
func expectNoGrowth(t *testing.T, before, after map[string]int) {
	t.Helper()
	for k, v := range after {
		if v > before[k] {
			t.Errorf("leak: %s grew from %d to %d", k, before[k], v)
		}
	}
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
	before := ownLeaks(e)
	start := time.Now()
	for i := 0; i < cycles; i++ {
		dir := fmt.Sprintf("%s-%d", img, i)
		e.MustRun("checkpoint", "--image-path", dir, c.ID)
		stopped := counterAtDump(t, c.Count)
		if stopped != 0 && stopped < last { // 0: the file was caught empty
			t.Fatalf("cycle %d: counter went back from %d to %d", i, last, stopped)
		}
		stopped = max(stopped, last)
		e.MustRun("restore", "-d", "--bundle", c.Bundle, "--image-path", dir, c.ID)
		last = WaitCounterAbove(t, c.Count, stopped, 5*time.Second)
		os.RemoveAll(dir)
	}
	elapsed := time.Since(start)
	after := ownLeaks(e)
	t.Logf("%d cycles in %v (%v per cycle); before %v after %v", cycles, elapsed.Round(time.Millisecond),
		(elapsed / time.Duration(max(cycles, 1))).Round(time.Millisecond), before, after)
	expectNoGrowth(t, before, after)
	logResult(t, reliabilityResult{Fault: fmt.Sprintf("soak: %d checkpoint/restore cycles after %d with --leave-running", cycles, leave),
		Trials: cycles + leave, Outcomes: map[string]int{"counter continued": cycles + leave}, Before: before, After: after,
		Note: fmt.Sprintf("%v per cycle", (elapsed / time.Duration(max(cycles, 1))).Round(time.Millisecond))})
}
