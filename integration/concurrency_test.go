package integration

import (
	"fmt"
	"math/rand"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConcurrentClients: parallel clients run mixed operations on the same few
// containers. Each command succeeds or fails with a clear busy/state error, state
// stays readable JSON, and everything ends in bounded time (no deadlock). A
// client that paused a container resumes it shortly after, as a person would:
// a foreground exec waits while its container is paused.
// MYCR_CONC_CLIENTS x MYCR_CONC_OPS (default 8 x 25; `make soak`: 8 x 100).
func TestConcurrentClients(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	var ctrs []*Counter
	for i := 0; i < 3; i++ {
		ctrs = append(ctrs, e.StartCounter(fmt.Sprint("conc", i)))
	}
	clients, ops := envInt("MYCR_CONC_CLIENTS", 8), envInt("MYCR_CONC_OPS", 25)
	accepted := []string{"busy", "paused", "not paused", "not running", "running", "cannot exec", "frozen", "interrupted"}
	var mu sync.Mutex
	var unexpected []string
	counts := map[string]int{}
	before := ownLeaks(e)
	start := time.Now()
	record := func(key string, r Result) {
		mu.Lock()
		defer mu.Unlock()
		if r.Code == 0 {
			counts[key+" ok"]++
			return
		}
		counts[key+" refused"]++
		ok := false
		for _, a := range accepted {
			ok = ok || strings.Contains(r.Stderr, a)
		}
		if !ok {
			unexpected = append(unexpected, r.String())
		}
	}
	var wg sync.WaitGroup
	deadline := time.Now().Add(8 * time.Minute)
	for cl := 0; cl < clients; cl++ {
		wg.Add(1)
		go func(cl int) {
			defer wg.Done()
			rnd := rand.New(rand.NewSource(int64(cl)))
			for op := 0; op < ops && time.Now().Before(deadline); op++ {
				c := ctrs[rnd.Intn(len(ctrs))]
				var args []string
				switch rnd.Intn(6) {
				case 0:
					args = []string{"state", c.ID}
				case 1:
					args = []string{"pause", c.ID}
				case 2:
					args = []string{"resume", c.ID}
				case 3:
					args = []string{"checkpoint", "--leave-running", "--image-path", filepath.Join(e.Dir, fmt.Sprintf("img-%d-%d", cl, op)), c.ID}
				case 4:
					args = []string{"exec", c.ID, "true"}
				case 5:
					args = []string{"kill", c.ID, "0"}
				}
				r := e.RunT(2*time.Minute, args...)
				record(args[0], r)
				if args[0] == "pause" && r.Code == 0 {
					// A foreground exec whose process runs waits while the
					// container is paused (as with runc): the pauser resumes
					// it soon, so that every exec ends, and only a hang of
					// the freezer itself (TestExecWhileFreezing) can time out.
					time.Sleep(time.Duration(rnd.Intn(200)) * time.Millisecond)
					record("resume after own pause", resumeOwnPause(e, c.ID))
				}
			}
		}(cl)
	}
	wg.Wait()
	t.Logf("outcomes: %v", counts)
	for _, u := range unexpected {
		t.Errorf("unclear failure:\n%s", u)
	}
	elapsed := time.Since(start)
	for _, c := range ctrs {
		e.Run("resume", c.ID) // a final pause may have won
		e.ExpectStatus(c.ID, "running")
		WaitCounterAbove(t, c.Count, MustCounter(t, c.Count)+2, 10*time.Second)
	}
	after := ownLeaks(e)
	expectNoGrowth(t, before, after)
	total := 0
	for _, n := range counts {
		total += n
	}
	counts["unclear failure"] = len(unexpected)
	logResult(t, reliabilityResult{Fault: fmt.Sprintf("%d parallel clients x %d mixed operations (state, pause, resume, checkpoint --leave-running, exec, kill 0) on 3 containers", clients, ops),
		Trials: total, Outcomes: counts, Before: before, After: after,
		Note: fmt.Sprintf("all containers ended running and counting; %v in all", elapsed.Round(time.Second))})
}

// resumeOwnPause resumes a container this client paused, retrying while another
// command holds it, until it runs (or another client resumed it first).
func resumeOwnPause(e *Env, id string) Result {
	limit := time.Now().Add(time.Minute)
	for {
		r := e.RunT(2*time.Minute, "resume", id)
		if r.Code == 0 || !strings.Contains(r.Stderr, "busy") || time.Now().After(limit) {
			return r
		}
	}
}
