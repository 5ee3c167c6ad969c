package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCriuStalledWatchdog: CRIU stops making progress in the middle of a dump
// (a --criu wrapper SIGSTOPs it); mycr's watchdog (MYCR_CRIU_TIMEOUT) kills it,
// the checkpoint fails saying so, and the container keeps running, unfrozen.
func TestCriuStalledWatchdog(t *testing.T) {
	requireCRIU(t)
	criuBin, err := exec.LookPath("criu")
	if err != nil {
		t.Skip("no criu")
	}
	e := NewEnv(t)
	wrapper := filepath.Join(e.Dir, "stalling-criu")
	// The DUMP is the second swrk run (libcontainer first asks for the version).
	script := fmt.Sprintf(`#!/bin/bash
if [ "$1" = swrk ]; then
  n=$(cat %[2]s/n 2>/dev/null || echo 0); echo $((n+1)) > %[2]s/n
  [ "$n" = 1 ] && ( sleep 0.05; kill -STOP $$ ) &
fi
exec %[1]s "$@"
`, criuBin, e.Dir)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	c := e.StartCounter("stall")
	trials := max(envInt("MYCR_FAULT_TRIALS", 20)/5, 1)
	for i := 0; i < trials; i++ {
		os.Remove(filepath.Join(e.Dir, "n"))
		before := MustCounter(t, c.Count)
		start := time.Now()
		r := e.runEnv([]string{"MYCR_CRIU_TIMEOUT=2s"}, "--criu", wrapper, "checkpoint",
			"--image-path", filepath.Join(e.Dir, fmt.Sprint("img", i)), c.ID)
		if r.Code == 0 {
			t.Fatalf("checkpoint with a stalled CRIU succeeded:\n%s", r)
		}
		if !strings.Contains(r.Stderr, "no progress") {
			t.Errorf("the error does not say CRIU stalled:\n%s", r)
		}
		if d := time.Since(start); d > 30*time.Second {
			t.Errorf("the watchdog took %v", d)
		}
		e.ExpectRunningNotPaused(c.ID, c.Pid)
		WaitCounterAbove(t, c.Count, before+2, 5*time.Second)
	}
}

// runEnv is Run with extra environment variables for mycr.
func (e *Env) runEnv(env []string, args ...string) Result {
	e.t.Helper()
	cmd := exec.Command(mycrBin, append(e.globals(), args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	return Result{Args: args, Code: code, Err: err, Stdout: out.String(), Stderr: errb.String(), Dur: time.Since(start)}
}
