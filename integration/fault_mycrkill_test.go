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

// TestMycrKilledDuringCheckpoint: mycr itself is SIGKILLed at every step of a
// dump and at random moments (CRIU, its child, carries on alone). The next
// command on the container (state, list, pause+resume or checkpoint, in turn)
// notices the interrupted operation from its record in <root>/.intent, waits
// for an orphaned CRIU, thaws the container and says what happened. The
// container ends running, unfrozen and counting, or restorable.
func TestMycrKilledDuringCheckpoint(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	c := e.StartCounter("mycrkill")
	rnd := newRand(t)
	span := dumpSpan(t, e, c)
	outcomes, reported := map[string]int{}, 0
	next := [][]string{{"state"}, {"list"}, {"ps"}, {"checkpoint", "--leave-running", "--image-path"}}
	for i, fp := range faultSchedule(rnd, dumpPhases, faultTrials(), span) {
		img := filepath.Join(e.Dir, fmt.Sprint("img", i))
		before := MustCounter(t, c.Count)
		p := e.Start(Stdio{}, "checkpoint", "--image-path", img, c.ID)
		criu := awaitFault(p, filepath.Join(img, "dump.log"), fp, 30*time.Second)
		if criu != nil {
			_ = syscall.Kill(p.Pid(), syscall.SIGKILL)
		} else {
			fp.Name += " (missed: mycr done)"
		}
		r := p.Wait(defaultTimeout)
		what := "mycr killed at " + fp.String()
		// The next command, whatever it is, repairs.
		args := append([]string(nil), next[i%len(next)]...)
		if args[0] == "checkpoint" {
			args = append(args, filepath.Join(e.Dir, fmt.Sprint("img-next", i)))
		}
		if args[0] != "list" {
			args = append(args, c.ID)
		}
		nr := e.Run(args...)
		if strings.Contains(nr.Stderr, "was interrupted") {
			reported++
		} else if r.Code != 0 && intentLeft(e, c.ID) {
			t.Errorf("%s: `%s` did not report the interrupted checkpoint:\n%s", what, args[0], nr)
		}
		waitPidsGone(t, criu, 15*time.Second)
		if r.Code != 0 {
			r.Code = -1 // killed: no message of its own to check
		}
		out := e.dumpOutcome(c, r, img, before, what)
		outcomes[out]++
		if intentLeft(e, c.ID) {
			t.Errorf("%s: the interrupted-operation record is still there after recovery", what)
		}
	}
	logResult(t, reliabilityResult{Fault: "mycr SIGKILLed during a checkpoint (every step + random moments); next command: state, list, ps or checkpoint",
		Trials: faultTrials(), Outcomes: outcomes, Note: fmt.Sprintf("%d recoveries reported by the next command", reported)})
}

// intentLeft tells whether an interrupted-operation record for id exists.
func intentLeft(e *Env, id string) bool {
	_, err := os.Stat(filepath.Join(e.Root, ".intent", id+".json"))
	return err == nil
}

// TestMycrKilledDuringRestore: mycr is SIGKILLed at every step of a restore and
// at random moments. A restore that did not get through must leave nothing
// behind once the next command (state, delete --force, restore, list) ran: no
// state, process, cgroup or mount, and the bundle's rootfs intact (the rootfs
// is bind-mounted in the state dir during a restore: removing that dir through
// the mount would delete it). A new restore then works.
func TestMycrKilledDuringRestore(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	c := e.StartCounter("rkill")
	img := filepath.Join(e.Dir, "img")
	e.Checkpoint(c.ID, img)
	e.ExpectCheckpointedAway(c.ID, c.Pid)
	last := counterAtDump(t, c.Count)
	rootfsFiles := countFiles(filepath.Join(c.Bundle, "rootfs"))
	rnd := newRand(t)
	span := restoreSpan(t, e, c, img)
	outcomes := map[string]int{}
	next := []string{"state", "delete", "restore", "list"}
	for i, fp := range faultSchedule(rnd, restorePhases, faultTrials(), span) {
		os.Remove(filepath.Join(img, "restore.log")) // awaitFault must see this run's log
		p := e.Start(Stdio{}, "restore", "-d", "--bundle", c.Bundle, "--image-path", img, c.ID)
		criu := awaitFault(p, filepath.Join(img, "restore.log"), fp, 30*time.Second)
		if criu != nil {
			_ = syscall.Kill(p.Pid(), syscall.SIGKILL)
		} else {
			fp.Name += " (missed: mycr done)"
		}
		p.Wait(defaultTimeout)
		what := "mycr killed at " + fp.String()
		waitPidsGone(t, criu, 15*time.Second)
		var nr Result
		switch cmd := next[i%len(next)]; cmd {
		case "state":
			nr = e.Run("state", c.ID)
		case "delete":
			nr = e.Run("delete", "--force", c.ID)
		case "restore":
			nr = e.Run("restore", "-d", "--bundle", c.Bundle, "--image-path", img, c.ID)
		case "list":
			nr = e.Run("list")
		}
		if got := countFiles(filepath.Join(c.Bundle, "rootfs")); got != rootfsFiles {
			t.Fatalf("%s: the bundle's rootfs lost files (%d, was %d) after `%s`:\n%s", what, got, rootfsFiles, nr.Args[0], nr)
		}
		s, _, ok := e.State(c.ID)
		switch {
		case ok && s.Status == "running":
			outcomes["restored before the kill (or by the next restore): running"]++
		case !ok:
			if !strings.Contains(nr.Stderr, "half-restored container was removed") && nr.Args[0] != "delete" && criu != nil {
				t.Logf("%s: `%s` said nothing of the half container (none left?):\n%s", what, nr.Args[0], nr)
			}
			e.ExpectNothingLeft(c.ID, what)
			outcomes["restore undone, nothing left"]++
			e.MustRun("restore", "-d", "--bundle", c.Bundle, "--image-path", img, c.ID)
		default:
			t.Fatalf("%s: after `%s` the container is %q:\n%s", what, nr.Args[0], s.Status, nr)
		}
		c.Pid = e.ExpectStatus(c.ID, "running").Pid
		WaitCounterAbove(t, c.Count, last, 10*time.Second)
		if intentLeft(e, c.ID) {
			t.Errorf("%s: the interrupted-operation record is still there", what)
		}
		// Back to a checkpointed state for the next trial.
		e.MustRun("delete", "--force", c.ID)
		e.ExpectNothingLeft(c.ID, what+", then delete")
	}
	logResult(t, reliabilityResult{Fault: "mycr SIGKILLed during a restore (every step + random moments); next command: state, delete --force, restore or list",
		Trials: faultTrials(), Outcomes: outcomes})
}

// restoreSpan restores img once (then deletes the container) to time a restore.
func restoreSpan(t *testing.T, e *Env, c *Counter, img string) time.Duration {
	t.Helper()
	e.MustRun("restore", "-d", "--bundle", c.Bundle, "--image-path", img, c.ID)
	e.MustRun("delete", "--force", c.ID)
	d := logSpan(filepath.Join(img, "restore.log"))
	if d <= 0 {
		d = 300 * time.Millisecond
	}
	t.Logf("a restore takes %v in CRIU", d)
	return d
}

// countFiles counts the entries below dir (not following links).
func countFiles(dir string) int {
	n := 0
	filepath.Walk(dir, func(string, os.FileInfo, error) error { n++; return nil })
	return n
}
