package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stallTimeout is the watchdog limit the stall tests run mycr with.
const stallTimeout = "1s"

// TestCriuStalledWatchdog: CRIU stops making progress at a step of a dump or at
// a random moment (the test SIGSTOPs it: on these VMs hardware breakpoints work,
// so the "CRIU waits forever for a breakpoint" hang cannot be had for real).
// mycr's watchdog (MYCR_CRIU_TIMEOUT) must kill it within bounded time, the
// checkpoint fails saying CRIU made no progress, and the container keeps running
// unfrozen; or, if the dump was over, it restores.
func TestCriuStalledWatchdog(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	c := e.StartCounter("stall")
	rnd := newRand(t)
	span := dumpSpan(t, e, c)
	outcomes := map[string]int{}
	var slowest time.Duration
	env := func(cmd *exec.Cmd) { cmd.Env = append(os.Environ(), "MYCR_CRIU_TIMEOUT="+stallTimeout) }
	for i, fp := range faultSchedule(rnd, dumpPhases, faultTrials(), span) {
		img := filepath.Join(e.Dir, fmt.Sprint("img", i))
		before := MustCounter(t, c.Count)
		p := e.startWith(env, "checkpoint", "--image-path", img, c.ID)
		stopped := awaitFault(p, filepath.Join(img, "dump.log"), fp, 30*time.Second)
		signalPids(stopped, syscall.SIGSTOP)
		r := p.Wait(defaultTimeout)
		waitPidsGone(t, stopped, 5*time.Second)
		what := "CRIU stopped at " + fp.String()
		if stopped == nil {
			what += " (missed: dump over)"
		}
		slowest = max(slowest, r.Dur)
		if r.Dur > 20*time.Second {
			t.Errorf("%s: the watchdog took %v to give up", what, r.Dur)
		}
		if r.Code > 0 && !strings.Contains(r.Stderr, "no progress") {
			t.Errorf("%s: the error does not say CRIU stalled:\n%s", what, r)
		}
		outcomes[e.dumpOutcome(c, r, img, before, what)]++
	}
	logResult(t, reliabilityResult{Fault: "CRIU stops making progress during a dump (SIGSTOP at every step + random moments), MYCR_CRIU_TIMEOUT=" + stallTimeout,
		Trials: faultTrials(), Outcomes: outcomes, Note: fmt.Sprintf("slowest checkpoint command %v", slowest.Round(time.Millisecond))})
}

// TestCriuStalledRestoreWatchdog: CRIU stops making progress during a restore;
// the watchdog kills it and what it half restored, the restore fails saying so
// and leaves nothing (state, processes, cgroups, mounts); a retry restores.
func TestCriuStalledRestoreWatchdog(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	c := e.StartCounter("rstall")
	img := filepath.Join(e.Dir, "img")
	e.Checkpoint(c.ID, img)
	last := counterAtDump(t, c.Count)
	rnd := newRand(t)
	span := restoreSpan(t, e, c, img)
	outcomes := map[string]int{}
	env := func(cmd *exec.Cmd) { cmd.Env = append(os.Environ(), "MYCR_CRIU_TIMEOUT="+stallTimeout) }
	trials := faultTrials()
	for _, fp := range faultSchedule(rnd, restorePhases, trials, span) {
		os.Remove(filepath.Join(img, "restore.log")) // awaitFault must see this run's log
		p := e.startWith(env, "restore", "-d", "--bundle", c.Bundle, "--image-path", img, c.ID)
		stopped := awaitFault(p, filepath.Join(img, "restore.log"), fp, 30*time.Second)
		signalPids(stopped, syscall.SIGSTOP)
		r := p.Wait(defaultTimeout)
		waitPidsGone(t, stopped, 5*time.Second)
		what := "CRIU stopped at " + fp.String()
		if r.Dur > 20*time.Second {
			t.Errorf("%s: the watchdog took %v to give up", what, r.Dur)
		}
		if r.Code == 0 {
			outcomes["restore over before the stall: running"]++
		} else {
			if !strings.Contains(r.Stderr, "no progress") {
				t.Errorf("%s: the error does not say CRIU stalled:\n%s", what, r)
			}
			e.ExpectNothingLeft(c.ID, what)
			outcomes["restore failed, nothing left, retry restored"]++
			e.MustRun("restore", "-d", "--bundle", c.Bundle, "--image-path", img, c.ID)
		}
		e.ExpectStatus(c.ID, "running")
		WaitCounterAbove(t, c.Count, last, 10*time.Second)
		e.MustRun("delete", "--force", c.ID)
		e.ExpectNothingLeft(c.ID, what+", then delete")
	}
	logResult(t, reliabilityResult{Fault: "CRIU stops making progress during a restore (SIGSTOP at every step + random moments), MYCR_CRIU_TIMEOUT=" + stallTimeout,
		Trials: trials, Outcomes: outcomes})
}
