package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCriuKilledDuringDump: CRIU is SIGKILLed at every step of a dump (when the
// step's line appears in dump.log) and at random moments of it, MYCR_FAULT_TRIALS
// times (default 20). After each try the container is running, not frozen, not
// traced, the same process, counting on; or, when the dump got far enough,
// restorable from the images with its counter continuing.
func TestCriuKilledDuringDump(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	c := e.StartCounter("criukill")
	rnd := newRand(t)
	span := dumpSpan(t, e, c)
	outcomes := map[string]int{}
	points := map[string][]string{}
	for i, fp := range faultSchedule(rnd, dumpPhases, faultTrials(), span) {
		img := filepath.Join(e.Dir, fmt.Sprint("img", i))
		before := MustCounter(t, c.Count)
		p := e.Start(Stdio{}, "checkpoint", "--image-path", img, c.ID)
		killed := awaitFault(p, filepath.Join(img, "dump.log"), fp, 30*time.Second)
		signalPids(killed, syscall.SIGKILL)
		r := p.Wait(defaultTimeout)
		if len(killed) == 0 {
			fp.Name += " (missed: dump over)"
		}
		out := e.dumpOutcome(c, r, img, before, "CRIU killed at "+fp.String())
		outcomes[out]++
		points[out] = append(points[out], fp.String())
	}
	t.Logf("outcomes by fault point: %v", points)
	logResult(t, reliabilityResult{Fault: "CRIU SIGKILLed during a dump (every step + random moments)",
		Trials: faultTrials(), Outcomes: outcomes})
}

// dumpSpan checkpoints c once with --leave-running and returns how long CRIU
// took (first to last timestamp of dump.log): random fault moments fall in it.
func dumpSpan(t *testing.T, e *Env, c *Counter) time.Duration {
	t.Helper()
	img := filepath.Join(e.Dir, "img-span")
	e.Checkpoint(c.ID, img, "--leave-running")
	d := logSpan(filepath.Join(img, "dump.log"))
	os.RemoveAll(img)
	if d <= 0 {
		d = 300 * time.Millisecond
	}
	t.Logf("a dump takes %v in CRIU", d)
	return d
}

var logStamp = regexp.MustCompile(`(?m)^\((\d+)\.(\d+)\)`)

// logSpan is the time between the first and the last line of a CRIU log.
func logSpan(path string) time.Duration {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	m := logStamp.FindAllSubmatch(b, -1)
	if len(m) == 0 {
		return 0
	}
	last := m[len(m)-1]
	s, _ := strconv.Atoi(string(last[1]))
	us, _ := strconv.Atoi(string(last[2]))
	return time.Duration(s)*time.Second + time.Duration(us)*time.Microsecond
}

// dumpOutcome checks a container after a checkpoint (without --leave-running)
// met a fault, and names the outcome. Accepted: the container kept running
// (same process, unfrozen, counting); or the dump completed and it restores from
// the images and counts on. Anything else fails the test.
func (e *Env) dumpOutcome(c *Counter, r Result, img string, before int, what string, restoreFlags ...string) string {
	t := e.t
	t.Helper()
	s, sr, ok := e.State(c.ID)
	switch {
	case ok && s.Status == "running":
		if r.Code == 0 {
			t.Errorf("%s: checkpoint reported success but the container still runs:\n%s", what, r)
		}
		if r.Code > 0 && !strings.Contains(r.Stderr, "still running") {
			t.Errorf("%s: the error does not say the container is still running:\n%s", what, r)
		}
		e.ExpectHealthy(c, before)
		return "checkpoint failed, container kept running"
	case !ok && strings.Contains(sr.Stderr, "does not exist"):
		if r.Code != 0 {
			t.Fatalf("%s: checkpoint did not succeed but the container is gone:\n%s\nstate: %s", what, r, sr)
		}
		if _, err := os.Stat(filepath.Join(img, "inventory.img")); err != nil {
			t.Fatalf("%s: checkpoint reported success, the container is gone, and the image is incomplete (%v): the container is lost\n%s", what, err, r)
		}
		e.restoreCounter(c, img, what, restoreFlags...)
		return "dump completed, restored from the images"
	case ok && s.Status == "stopped":
		if _, err := os.Stat(filepath.Join(img, "inventory.img")); err != nil {
			// CRIU was killed while it had code injected into the processes
			// (compel's syscall/parasite injection): they die on its int3.
			// Nothing can save them then; mycr must say so.
			if r.Code > 0 && !strings.Contains(r.Stderr, "died") {
				t.Errorf("%s: the container's processes died, and the error does not say so:\n%s", what, r)
			}
			e.MustRun("delete", c.ID)
			e.ExpectNothingLeft(c.ID, what)
			e.restartCounter(c)
			return "LOST: processes died (CRIU killed while injected in them)"
		}
		// CRIU ended the processes (dump complete) but the command did not finish.
		if r.Code > 0 && !strings.Contains(r.Stderr, img) {
			t.Errorf("%s: the container's processes are gone, and the error does not point at the images:\n%s", what, r)
		}
		e.MustRun("delete", c.ID)
		e.restoreCounter(c, img, what, restoreFlags...)
		return "processes ended after a complete dump, restored from the images"
	default:
		t.Fatalf("%s: the container is neither running nor restorable: state %+v\n%s\ncheckpoint: %s", what, s, sr, r)
	}
	return ""
}

// restoreCounter restores c from img and checks it counts on from where it stopped.
func (e *Env) restoreCounter(c *Counter, img, what string, flags ...string) {
	e.t.Helper()
	stopped := counterAtDump(e.t, c.Count)
	r := e.Run(append(append([]string{"restore", "-d"}, flags...), "--bundle", c.Bundle, "--image-path", img, c.ID)...)
	if r.Code != 0 {
		e.t.Fatalf("%s: the checkpoint completed but does not restore:\n%s", what, r)
	}
	c.Pid = e.ExpectStatus(c.ID, "running").Pid
	WaitCounterAbove(e.t, c.Count, 0, 10*time.Second)
	if now := MustCounter(e.t, c.Count); now < stopped {
		e.t.Fatalf("%s: restored counter %d is below %d: it started over", what, now, stopped)
	}
	WaitCounterAbove(e.t, c.Count, stopped+2, 10*time.Second)
}

// restartCounter runs c again from its bundle after it was lost (the counter
// file keeps its last value; the shell starts again from 1).
func (e *Env) restartCounter(c *Counter) {
	e.t.Helper()
	e.MustRun("run", "-d", "--bundle", c.Bundle, c.ID)
	c.Pid = e.WaitStatus(c.ID, "running", 5*time.Second).Pid
	os.Remove(c.Count)
	WaitCounterAbove(e.t, c.Count, 2, 5*time.Second)
}
