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

// TestCheckpointInterruptedByKill: mycr is SIGKILLed in the middle of a checkpoint
// (CRIU stalled by a wrapper, the container already frozen). The next mycr command
// on that container notices, thaws it and says so; the counter goes on.
// MYCR_FAULT_TRIALS times.
func TestCheckpointInterruptedByKill(t *testing.T) {
	requireCRIU(t)
	criuBin, err := exec.LookPath("criu")
	if err != nil {
		t.Skip("no criu")
	}
	e := NewEnv(t)
	wrapper := filepath.Join(e.Dir, "slow-criu")
	marker := filepath.Join(e.Dir, "criu-started")
	// Only the RPC runs (swrk) stall: `criu --version` must answer at once.
	script := fmt.Sprintf("#!/bin/sh\nif [ \"$1\" = swrk ]; then touch %s; sleep 2; fi\nexec %s \"$@\"\n", marker, criuBin)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	c := e.StartCounter("interrupted")
	outcomes := map[string]int{}
	for i := 0; i < faultTrials(); i++ {
		os.Remove(marker)
		cmd := exec.Command(mycrBin, "--root", e.Root, "--criu", wrapper, "checkpoint",
			"--image-path", filepath.Join(e.Dir, fmt.Sprint("img", i)), c.ID)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "mycr to start CRIU", func() (bool, string) {
			_, err := os.Stat(marker)
			return err == nil, ""
		})
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		r := e.MustRun("state", c.ID)
		if !strings.Contains(r.Stdout, `"running"`) {
			t.Fatalf("after mycr was killed mid-checkpoint the container is not running:\n%s", r)
		}
		if !strings.Contains(r.Stderr, "interrupted") {
			t.Errorf("the next command did not report the interrupted checkpoint:\n%s", r)
		}
		WaitCounterAbove(t, c.Count, MustCounter(t, c.Count)+3, 5*time.Second)
		outcomes["next command reported it, container running and counting"]++
	}
	logResult(t, reliabilityResult{Fault: "mycr SIGKILLed while CRIU (held back by a wrapper) was starting; next command: state",
		Trials: faultTrials(), Outcomes: outcomes})
	time.Sleep(2500 * time.Millisecond) // let the last orphaned wrapper finish
}
