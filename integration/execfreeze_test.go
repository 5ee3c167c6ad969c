package integration

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestExecWhileFreezing: exec races pause/resume and checkpoint --leave-running
// on one container for a few seconds. On cgroup v1, a process that joins a
// frozen cgroup in the middle of its execve leaves the freezer FREEZING for
// good, and libcontainer's status, pause and resume wait for it forever (found
// by TestConcurrentClients: an exec and a checkpoint hung). Every command must
// end within its timeout, and the container ends running and counting.
func TestExecWhileFreezing(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	c := e.StartCounter("execfreeze")
	until := time.Now().Add(time.Duration(envInt("MYCR_EXECFREEZE_SECONDS", 6)) * time.Second)
	var wg sync.WaitGroup
	var mu sync.Mutex
	hung := []string{}
	counts := map[string]int{}
	loop := func(next func(i int) []string) {
		defer wg.Done()
		for i := 0; time.Now().Before(until); i++ {
			args := next(i)
			r := e.RunT(30*time.Second, args...)
			mu.Lock()
			if r.Code == 0 {
				counts[args[0]+" ok"]++
			} else {
				counts[args[0]+" refused"]++
			}
			if r.Code == -1 {
				hung = append(hung, r.String())
			}
			mu.Unlock()
			if r.Code == -1 {
				return
			}
		}
	}
	wg.Add(4)
	go loop(func(int) []string { return []string{"exec", c.ID, "true"} })
	go loop(func(int) []string { return []string{"exec", c.ID, "true"} })
	go loop(func(i int) []string {
		if i%2 == 0 {
			return []string{"pause", c.ID}
		}
		return []string{"resume", c.ID}
	})
	go loop(func(i int) []string {
		return []string{"checkpoint", "--leave-running", "--image-path", filepath.Join(e.Dir, fmt.Sprint("img", i)), c.ID}
	})
	wg.Wait()
	for _, h := range hung {
		t.Errorf("a command hung:\n%s", h)
	}
	e.Run("resume", c.ID) // a final pause may have won
	e.ExpectStatus(c.ID, "running")
	WaitCounterAbove(t, c.Count, MustCounter(t, c.Count)+2, 10*time.Second)
	total := 0
	for _, n := range counts {
		total += n
	}
	counts["hung"] = len(hung)
	logResult(t, reliabilityResult{Fault: "exec racing pause/resume and checkpoint --leave-running on one container (cgroup v1 freezer)",
		Trials: total, Outcomes: counts, Note: "every command ended; the container ended running and counting"})
}
