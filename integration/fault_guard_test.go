package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// guardBound is how long after mycr's death the container may stay frozen
// (CRIU finishing or failing its dump included) on a loaded machine; a guard
// normally does it well within guardTarget.
const (
	guardTarget = 5 * time.Second
	guardBound  = 10 * time.Second
)

// TestMycrKilledCheckpointGuard: mycr is SIGKILLed at a random moment of the
// checkpoint of a container holding 500 MiB (MYCR_GUARD_MB), and NO further
// mycr command runs. Watching the kernel's view only (freezer.state, TracerPid,
// /proc), within guardBound of the orphaned CRIU's end (normally within
// guardTarget of the kill) the container must be thawed and untraced, or gone
// with its images complete and named in its record in <root>/.intent. Then it
// counts on (or restores from those images, memory intact, and counts on), and
// the next command reports what happened.
func TestMycrKilledCheckpointGuard(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	p := e.StartMemProg("guard", envInt("MYCR_GUARD_MB", 500))
	rnd := newRand(t)
	span := guardDumpSpan(t, e, p)
	outcomes, slowest := map[string]int{}, time.Duration(0)
	for i := 0; i < faultTrials(); i++ {
		pid := e.ExpectStatus(p.ID, "running").Pid
		freezer := freezerState(t, pid)
		img := filepath.Join(e.Dir, fmt.Sprint("img", i))
		args, mode := []string{"checkpoint", "--image-path", img, p.ID}, "checkpoint"
		if i%2 == 1 {
			args, mode = append([]string{"checkpoint", "--leave-running"}, args[1:]...), "checkpoint --leave-running"
		}
		at := time.Duration(rnd.Int63n(int64(span)))
		before := MustCounter(t, p.Count)
		cp := e.Start(Stdio{}, args...)
		time.Sleep(at)
		criu := childPids(cp.Pid(), "criu")
		_ = syscall.Kill(cp.Pid(), syscall.SIGKILL)
		missed := cp.Wait(defaultTimeout).Code == 0
		what := fmt.Sprintf("trial %d: mycr %s killed %v in", i, mode, at.Round(time.Millisecond))
		killed := time.Now()
		criuEnd := killed // CRIU, orphaned, finishes or fails its dump first
		var outcome string
		waitFor(t, span+3*guardBound, what+": the container thawed or its images named, with no command run", func() (bool, string) {
			if anyAlive(criu) {
				criuEnd = time.Now()
			}
			outcome = guardRepaired(e, p.ID, pid, freezer, img, missed)
			return outcome != "", "frozen: " + readTrim(freezer) + ", " + procStatus(pid)
		})
		took, afterCriu := time.Since(killed), time.Since(criuEnd)
		slowest = max(slowest, afterCriu)
		// CRIU cannot be stopped mid-dump without killing the container's
		// processes: it carries on (writing memory) until its next message to
		// the dead mycr fails. The guard's part is what follows.
		if afterCriu > guardBound {
			t.Errorf("%s: %s only %v after CRIU ended (%v after the kill; bound %v)", what, outcome,
				afterCriu.Round(time.Millisecond), took.Round(time.Millisecond), guardBound)
		} else if took > guardTarget {
			t.Logf("%s: %s %v after the kill, %v after CRIU ended", what, outcome, took.Round(time.Millisecond), afterCriu.Round(time.Millisecond))
		}
		waitPidsGone(t, criu, 15*time.Second)
		if missed {
			outcome += " (kill missed: mycr done)"
		}
		outcomes[outcome]++
		// Only now a command: it tells what happened and clears the record.
		r := e.Run("state", p.ID)
		if !missed && len(criu) > 0 && !strings.Contains(r.Stderr, "was interrupted") {
			t.Errorf("%s: `state` did not report the interrupted checkpoint:\n%s", what, r)
		}
		if intentLeft(e, p.ID) {
			t.Errorf("%s: the record is still there after `state`:\n%s", what, r)
		}
		if strings.HasPrefix(outcome, "dump completed") || missed && mode == "checkpoint" {
			e.MustRun("delete", "--force", p.ID)
			e.MustRun("restore", "-d", "--bundle", p.Bundle, "--image-path", img, p.ID)
			e.ExpectMemoryIntact(p, p.ID)
		}
		WaitCounterAbove(t, p.Count, before, 15*time.Second)
		os.RemoveAll(img)
	}
	logResult(t, reliabilityResult{Fault: fmt.Sprintf("mycr SIGKILLed at a random moment of a %d MiB checkpoint (with and without --leave-running), no further command run", p.MB),
		Trials: faultTrials(), Outcomes: outcomes,
		Note: fmt.Sprintf("each thawed (or images complete and named) by mycr's guard within %v of the orphaned CRIU's end, slowest %v; then counting, or restored with memory intact", guardBound, slowest.Round(time.Millisecond))})
}

// guardDumpSpan times a --leave-running checkpoint of p from outside.
func guardDumpSpan(t *testing.T, e *Env, p *MemProg) time.Duration {
	img := filepath.Join(e.Dir, "img-span")
	start := time.Now()
	e.Checkpoint(p.ID, img, "--leave-running")
	d := time.Since(start)
	os.RemoveAll(img)
	t.Logf("a checkpoint of %d MiB takes %v", p.MB, d.Round(time.Millisecond))
	return d
}

// guardRepaired names the state the container is in if it is a repaired one,
// "" while it is not (yet).
func guardRepaired(e *Env, id string, pid int, freezer, img string, missed bool) string {
	if procStart(pid) != "" && !strings.Contains(procStatus(pid), "Z") {
		if readTrim(freezer) != "THAWED" || traced(pid) {
			return ""
		}
		return "running: thawed"
	}
	b, _ := os.ReadFile(filepath.Join(e.Root, ".intent", id+".json"))
	if missed {
		return "checkpointed"
	}
	if _, err := os.Stat(filepath.Join(img, "inventory.img")); err == nil && strings.Contains(string(b), img) &&
		strings.Contains(string(b), `"outcome"`) {
		return "dump completed: processes gone, images named in the record"
	}
	return ""
}

// freezerState is the freezer.state file of pid's v1 freezer cgroup.
func freezerState(t *testing.T, pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.SplitN(l, ":", 3); len(f) == 3 && f[1] == "freezer" {
			return filepath.Join("/sys/fs/cgroup/freezer", f[2], "freezer.state")
		}
	}
	t.Skip("no cgroup v1 freezer here")
	return ""
}

func readTrim(path string) string {
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}

// procStatus is pid's State and TracerPid lines.
func procStatus(pid int) string {
	var out []string
	for _, l := range strings.Split(readTrim(fmt.Sprintf("/proc/%d/status", pid)), "\n") {
		if strings.HasPrefix(l, "State:") || strings.HasPrefix(l, "TracerPid:") {
			out = append(out, strings.Join(strings.Fields(l), " "))
		}
	}
	if len(out) == 0 {
		return "gone"
	}
	return strings.Join(out, ", ")
}

func anyAlive(pids []int) bool {
	for _, p := range pids {
		if pidAlive(p) {
			return true
		}
	}
	return false
}

func traced(pid int) bool { return !strings.Contains(procStatus(pid), "TracerPid: 0") }
