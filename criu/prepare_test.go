package criu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mycr/mycr/criu/host"
)

// cleanEnv removes every override so Prepare decides by itself.
func cleanEnv(t *testing.T) {
	unsetEnv(t, "CRIU_FAULT")
	unsetEnv(t, host.EnvHWBreakpoints)
	t.Setenv("PATH", os.Getenv("PATH"))
}

func TestPrepareProbesOnceThenUsesCache(t *testing.T) {
	needCriu(t)
	cleanEnv(t)
	state := filepath.Join(t.TempDir(), "state")
	e, err := Prepare(state, "")
	if err != nil {
		t.Fatal(err)
	}
	if e.Source != host.SourceProbe || (e.HWBreakpoints != host.HWWorks && e.HWBreakpoints != host.HWBroken) {
		t.Fatalf("first Prepare: %+v", e)
	}
	if got, _ := os.LookupEnv("CRIU_FAULT"); got != e.Fault {
		t.Fatalf("CRIU_FAULT=%q, env says %q", got, e.Fault)
	}
	if (e.HWBreakpoints == host.HWBroken) != (e.Fault == host.FaultNoBreakpoints) {
		t.Fatalf("fault %q does not match %s", e.Fault, e.HWBreakpoints)
	}
	if fi, err := os.Stat(state); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("%s: %v %v, want 0700", state, fi.Mode().Perm(), err)
	}

	cleanEnv(t) // the next mycr command is a new process: no CRIU_FAULT exported by this one
	e2, err := Prepare(state, "")
	if err != nil || e2.Source != host.SourceCache || e2.HWBreakpoints != e.HWBreakpoints || e2.Fault != e.Fault {
		t.Fatalf("second Prepare: %+v %v", e2, err)
	}
}

func TestPrepareHWOverride(t *testing.T) {
	needCriu(t)
	cleanEnv(t)
	state := t.TempDir()
	t.Setenv(host.EnvHWBreakpoints, host.HWBroken)
	e, err := Prepare(state, "")
	if err != nil || e.Source != host.SourceEnvHW || e.HWBreakpoints != host.HWBroken || e.Fault != host.FaultNoBreakpoints {
		t.Fatalf("%+v %v", e, err)
	}
	if os.Getenv("CRIU_FAULT") != host.FaultNoBreakpoints {
		t.Fatalf("CRIU_FAULT=%q", os.Getenv("CRIU_FAULT"))
	}

	os.Unsetenv("CRIU_FAULT")
	t.Setenv(host.EnvHWBreakpoints, host.HWWorks)
	e, err = Prepare(state, "")
	if err != nil || e.Fault != "" || e.HWBreakpoints != host.HWWorks {
		t.Fatalf("%+v %v", e, err)
	}
	if _, set := os.LookupEnv("CRIU_FAULT"); set {
		t.Error("CRIU_FAULT set although breakpoints work")
	}

	t.Setenv(host.EnvHWBreakpoints, "maybe")
	if _, err := Prepare(state, ""); err == nil || !strings.Contains(err.Error(), host.EnvHWBreakpoints) {
		t.Fatalf("bad override accepted: %v", err)
	}
}

// A CRIU_FAULT the user set is kept exactly, even against the override.
func TestPrepareKeepsUserCriuFault(t *testing.T) {
	needCriu(t)
	cleanEnv(t)
	t.Setenv("CRIU_FAULT", host.FaultNoBreakpoints)
	t.Setenv(host.EnvHWBreakpoints, host.HWWorks)
	e, err := Prepare(t.TempDir(), "")
	if err != nil || e.Source != host.SourceEnvFault || e.Fault != host.FaultNoBreakpoints || os.Getenv("CRIU_FAULT") != host.FaultNoBreakpoints {
		t.Fatalf("%+v %v, CRIU_FAULT=%q", e, err, os.Getenv("CRIU_FAULT"))
	}
	// ...and DisableHWBreakpoints respects it.
	if err := e.DisableHWBreakpoints(t.TempDir()); err != nil || e.Source != host.SourceEnvFault {
		t.Fatalf("%v %+v", err, e)
	}
}

// CRIU refuses to start with CRIU_FAULT="" or "0" ("CRIU_FAULT out of
// bounds"): an empty one is dropped, a bad one is a clear error.
func TestPrepareBadCriuFault(t *testing.T) {
	needCriu(t)
	cleanEnv(t)
	t.Setenv(host.EnvHWBreakpoints, host.HWBroken)
	t.Setenv("CRIU_FAULT", "")
	e, err := Prepare(t.TempDir(), "")
	if err != nil || e.Source != host.SourceEnvHW || os.Getenv("CRIU_FAULT") != host.FaultNoBreakpoints {
		t.Fatalf("empty CRIU_FAULT: %+v %v", e, err)
	}
	t.Setenv("CRIU_FAULT", "0")
	if _, err := Prepare(t.TempDir(), ""); err == nil || !strings.Contains(err.Error(), `CRIU_FAULT="0"`) {
		t.Fatalf("CRIU_FAULT=0: %v", err)
	}
}

func TestPrepareMissingCriu(t *testing.T) {
	cleanEnv(t)
	_, err := Prepare(t.TempDir(), "/nonexistent/criu")
	if err == nil || !strings.Contains(err.Error(), "make deps") {
		t.Fatalf("got %v", err)
	}
}

// DisableHWBreakpoints exports CRIU_FAULT at once: the retry of the stalled
// dump runs in this process.
func TestDisableHWBreakpointsExports(t *testing.T) {
	needCriu(t)
	cleanEnv(t)
	t.Setenv(host.EnvHWBreakpoints, host.HWWorks)
	state := t.TempDir()
	e, err := Prepare(state, "")
	if err != nil || os.Getenv("CRIU_FAULT") != "" {
		t.Fatalf("%+v %v CRIU_FAULT=%q", e, err, os.Getenv("CRIU_FAULT"))
	}
	if err := e.DisableHWBreakpoints(state); err != nil {
		t.Fatal(err)
	}
	if e.Fault != host.FaultNoBreakpoints || os.Getenv("CRIU_FAULT") != host.FaultNoBreakpoints {
		t.Fatalf("%+v CRIU_FAULT=%q", e, os.Getenv("CRIU_FAULT"))
	}
}
