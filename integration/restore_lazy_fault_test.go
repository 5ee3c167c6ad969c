package integration

import (
	"math/rand"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// lazyFillSpan restores img lazily once to time it from mycr's start to the
// last page (the window the faults below are spread over).
func lazyFillSpan(t *testing.T, e *Env, p *MemProg, img string) time.Duration {
	t.Helper()
	id := e.ID("span")
	r, l := restoreLazy(t, e, p, img, id)
	if r.Code != 0 || !l.Lazy {
		t.Fatalf("lazy restore for timing failed (%+v):\n%s", l, r)
	}
	e.MustRun("delete", "--force", id)
	span := time.Duration(l.LastPageMs * float64(time.Millisecond))
	t.Logf("a lazy restore of %d MiB: running after %.0f ms, last page after %.0f ms", p.MB, l.RunningMs, l.LastPageMs)
	return span
}

// expectLazyOutcome sorts out a lazy restore a fault hit: either it succeeded
// and every page is intact, or it failed and the container does not run on
// (no silent zero pages); nothing of the daemon is left, the next `delete
// --force` cleans up. It returns the outcome's name.
func expectLazyOutcome(t *testing.T, e *Env, p *MemProg, img, id, what string, r Result, wantWhy string) string {
	t.Helper()
	expectNoLazyLeftovers(t, img)
	s, _, ok := e.State(id)
	outcome := ""
	switch {
	case r.Code == 0:
		if !ok || s.Status != "running" {
			t.Fatalf("%s: restore --lazy succeeded but %s is not running (%+v)", what, id, s)
		}
		e.ExpectMemoryIntact(p, id)
		outcome = "restored, every page intact"
	case ok && s.Status == "running":
		e.ExpectMemoryIntact(p, id) // a running container must have its memory
		outcome = "container running (restored before the fault), every page intact"
	default:
		if wantWhy != "" && !strings.Contains(r.Stderr, wantWhy) {
			t.Errorf("%s: restore --lazy failed without saying why (want %q):\n%s", what, wantWhy, r)
		}
		outcome = "failed, container not running"
		if strings.Contains(r.Stderr, "the container was killed") {
			outcome = "failed, container killed (pages missing)"
		}
	}
	e.Run("delete", "--force", id)
	e.ExpectNothingLeft(id, what+", then delete --force")
	return outcome
}

// TestRestoreLazyDaemonKilled: the lazy-pages daemon SIGKILLed at random
// moments of a lazy restore (MYCR_FAULT_TRIALS times). A process must never
// run on with pages it did not get: mycr kills the container and says why, or
// the restore had every page. The images stay usable: an eager restore works.
func TestRestoreLazyDaemonKilled(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	p, img := checkpointMemProg(t, e, "lazykill", 256)
	span := lazyFillSpan(t, e, p, img)
	rnd := newRand(t)
	outcomes := map[string]int{}
	for i := 0; i < faultTrials(); i++ {
		id := e.ID("lk")
		resetVol(t, img)
		proc := e.Start(Stdio{}, "restore", "-d", "--lazy", "--bundle", p.Bundle, "--image-path", img, id)
		var daemon []string
		waitFor(t, 30*time.Second, "the lazy-pages daemon", func() (bool, string) {
			daemon = lazyDaemons(img)
			return len(daemon) > 0 || proc.Exited(), "none yet"
		})
		delay := time.Duration(rnd.Int63n(int64(span)))
		what := "daemon killed " + delay.Round(time.Millisecond).String() + " after it started"
		time.Sleep(delay)
		for _, d := range daemon {
			if pid, err := strconv.Atoi(d); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		r := proc.Wait(3 * time.Minute)
		outcomes[expectLazyOutcome(t, e, p, img, id, what, r, "lazy-pages")]++
	}
	id := e.ID("eager")
	resetVol(t, img)
	e.RestoreDetached(id, p.Bundle, img)
	e.ExpectMemoryIntact(p, id)
	logResult(t, reliabilityResult{Fault: "criu lazy-pages SIGKILLed at random moments of restore --lazy (256 MiB); then an eager restore of the same images",
		Trials: faultTrials(), Outcomes: outcomes})
}

// TestRestoreLazyMycrKilled: mycr SIGKILLed at random moments of restore
// --lazy. Before the restore completed the container is killed with the
// daemon (the next command removes the half container); after, the daemon
// goes on alone and the container gets every page. Nothing is left.
func TestRestoreLazyMycrKilled(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	p, img := checkpointMemProg(t, e, "lazymk", 256)
	span := lazyFillSpan(t, e, p, img)
	rnd := rand.New(rand.NewSource(newRand(t).Int63()))
	outcomes := map[string]int{}
	for i := 0; i < faultTrials(); i++ {
		id := e.ID("mk")
		resetVol(t, img)
		proc := e.Start(Stdio{}, "restore", "-d", "--lazy", "--bundle", p.Bundle, "--image-path", img, id)
		delay := time.Duration(rnd.Int63n(int64(span)))
		what := "mycr killed " + delay.Round(time.Millisecond).String() + " after it started"
		time.Sleep(delay)
		_ = syscall.Kill(proc.Pid(), syscall.SIGKILL)
		r := proc.Wait(time.Minute)
		e.Run("state", id) // the next command repairs a half restore
		outcomes[expectLazyOutcome(t, e, p, img, id, what, r, "")]++
	}
	logResult(t, reliabilityResult{Fault: "mycr SIGKILLed at random moments of restore --lazy (256 MiB)",
		Trials: faultTrials(), Outcomes: outcomes})
}

// TestRestoreLazyHotPagesMycrKilled: mycr SIGKILLed at random moments of
// restore --lazy --record-hot-pages, most of them around the last page, when
// it rewrites the images' pagemaps. The images must stay whole: each pagemap
// is the old one or the new one, so after every trial (and the marks some of
// them made) an eager and a lazy restore find every page intact.
func TestRestoreLazyHotPagesMycrKilled(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	p, img := checkpointMemProg(t, e, "lazyhk", 128)
	span := lazyFillSpan(t, e, p, img)
	rnd := newRand(t)
	outcomes := map[string]int{}
	for i := 0; i < faultTrials(); i++ {
		id := e.ID("hk")
		resetVol(t, img)
		proc := e.Start(Stdio{}, "restore", "-d", "--lazy", "--record-hot-pages", "--bundle", p.Bundle, "--image-path", img, id)
		// From half the fill to 100 ms after its end: the marking comes right after.
		delay := span/2 + time.Duration(rnd.Int63n(int64(span/2+100*time.Millisecond)))
		what := "mycr killed " + delay.Round(time.Millisecond).String() + " after it started"
		time.Sleep(delay)
		_ = syscall.Kill(proc.Pid(), syscall.SIGKILL)
		r := proc.Wait(time.Minute)
		e.Run("state", id)
		outcomes[expectLazyOutcome(t, e, p, img, id, what, r, "")]++
	}
	for _, lazy := range []bool{false, true} {
		id := e.ID("after")
		resetVol(t, img)
		if lazy {
			if r, l := restoreLazy(t, e, p, img, id); r.Code != 0 || !l.Lazy {
				t.Fatalf("lazy restore after the trials failed (%+v):\n%s", l, r)
			}
		} else {
			e.RestoreDetached(id, p.Bundle, img)
		}
		e.ExpectMemoryIntact(p, id)
		e.MustRun("delete", "--force", id)
	}
	logResult(t, reliabilityResult{Fault: "mycr SIGKILLed at random moments of restore --lazy --record-hot-pages (128 MiB), mostly around the last page (the pagemap rewrite); then an eager and a lazy restore of the same images",
		Trials: faultTrials(), Outcomes: outcomes})
}
