package integration

import (
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestCriuKilledDuringDump: CRIU is SIGKILLed at a random point of a dump (a
// --criu wrapper kills it after 0-200 ms), 20 times. After each try the container
// is running, not frozen, and counting; or, when the dump finished first, it is
// gone and restores with its counter continuing.
func TestCriuKilledDuringDump(t *testing.T) {
	requireCRIU(t)
	criuBin, err := exec.LookPath("criu")
	if err != nil {
		t.Skip("no criu")
	}
	e := NewEnv(t)
	wrapper := filepath.Join(e.Dir, "killed-criu")
	delayFile := filepath.Join(e.Dir, "delay")
	script := fmt.Sprintf(`#!/bin/bash
[ "$1" = swrk ] || exec %[1]s "$@"
%[1]s "$@" & p=$!
sleep "$(cat %[2]s)"; kill -9 $p 2>/dev/null
wait $p
`, criuBin, delayFile)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	c := e.StartCounter("criukill")
	rnd := rand.New(rand.NewSource(time.Now().UnixNano()))
	trials := envInt("MYCR_FAULT_TRIALS", 20)
	survived, finished := 0, 0
	for i := 0; i < trials; i++ {
		delay := fmt.Sprintf("0.%03d", rnd.Intn(200))
		if err := os.WriteFile(delayFile, []byte(delay), 0o644); err != nil {
			t.Fatal(err)
		}
		img := filepath.Join(e.Dir, fmt.Sprint("img", i))
		before := MustCounter(t, c.Count)
		r := e.Run("--criu", wrapper, "checkpoint", "--image-path", img, c.ID)
		if r.Code != 0 {
			survived++
			s := e.ExpectStatus(c.ID, "running")
			WaitCounterAbove(t, c.Count, before+2, 5*time.Second)
			c.Pid = s.Pid
			continue
		}
		finished++ // the dump won the race: the container must come back
		e.MustRun("restore", "-d", "--bundle", c.Bundle, "--image-path", img, c.ID)
		c.Pid = e.ExpectStatus(c.ID, "running").Pid
		WaitCounterAbove(t, c.Count, MustCounter(t, c.Count)+2, 5*time.Second)
	}
	t.Logf("%d trials: %d dumps killed (container kept running), %d finished (restored)", trials, survived, finished)
}
