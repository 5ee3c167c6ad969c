package criu

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cleanEnv removes every override so Prepare decides by itself.
func cleanEnv(t *testing.T) {
	unsetEnv(t, "CRIU_FAULT")
	unsetEnv(t, EnvHWBreakpoints)
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
	if e.Source != SourceProbe || (e.HWBreakpoints != HWWorks && e.HWBreakpoints != HWBroken) {
		t.Fatalf("first Prepare: %+v", e)
	}
	if got, _ := os.LookupEnv("CRIU_FAULT"); got != e.Fault {
		t.Fatalf("CRIU_FAULT=%q, env says %q", got, e.Fault)
	}
	if (e.HWBreakpoints == HWBroken) != (e.Fault == FaultNoBreakpoints) {
		t.Fatalf("fault %q does not match %s", e.Fault, e.HWBreakpoints)
	}
	for p, want := range map[string]os.FileMode{state: 0o700, filepath.Join(state, cacheFile): 0o600} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want %v", p, fi.Mode().Perm(), err, want)
		}
	}

	cleanEnv(t) // the next mycr command is a new process: no CRIU_FAULT exported by this one
	e2, err := Prepare(state, "")
	if err != nil || e2.Source != SourceCache || e2.HWBreakpoints != e.HWBreakpoints || e2.Fault != e.Fault {
		t.Fatalf("second Prepare: %+v %v", e2, err)
	}
}

// A cache from another boot or kernel is ignored.
func TestPrepareIgnoresStaleCache(t *testing.T) {
	needCriu(t)
	cleanEnv(t)
	state := t.TempDir()
	for _, c := range []envCache{
		{Kernel: kernelRelease(), BootID: "00000000-0000-0000-0000-000000000000", HWBreakpoints: HWBroken},
		{Kernel: "2.6.32", BootID: bootID(), HWBreakpoints: HWBroken},
	} {
		b, _ := json.Marshal(c)
		if err := os.WriteFile(filepath.Join(state, cacheFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
		cleanEnv(t) // each Prepare stands for a new mycr process
		if e, err := Prepare(state, ""); err != nil || e.Source != SourceProbe {
			t.Fatalf("stale cache %+v used: %+v %v", c, e, err)
		}
	}
	// Garbage is ignored too.
	os.WriteFile(filepath.Join(state, cacheFile), []byte("{not json"), 0o600)
	cleanEnv(t)
	if e, err := Prepare(state, ""); err != nil || e.Source != SourceProbe {
		t.Fatalf("garbage cache: %+v %v", e, err)
	}
}

func TestPrepareHWOverride(t *testing.T) {
	needCriu(t)
	cleanEnv(t)
	state := t.TempDir()
	t.Setenv(EnvHWBreakpoints, HWBroken)
	e, err := Prepare(state, "")
	if err != nil || e.Source != SourceEnvHW || e.HWBreakpoints != HWBroken || e.Fault != FaultNoBreakpoints {
		t.Fatalf("%+v %v", e, err)
	}
	if os.Getenv("CRIU_FAULT") != FaultNoBreakpoints {
		t.Fatalf("CRIU_FAULT=%q", os.Getenv("CRIU_FAULT"))
	}
	if _, err := os.Stat(filepath.Join(state, cacheFile)); err == nil {
		t.Error("an override must not be cached")
	}

	os.Unsetenv("CRIU_FAULT")
	t.Setenv(EnvHWBreakpoints, HWWorks)
	e, err = Prepare(state, "")
	if err != nil || e.Fault != "" || e.HWBreakpoints != HWWorks {
		t.Fatalf("%+v %v", e, err)
	}
	if _, set := os.LookupEnv("CRIU_FAULT"); set {
		t.Error("CRIU_FAULT set although breakpoints work")
	}

	t.Setenv(EnvHWBreakpoints, "maybe")
	if _, err := Prepare(state, ""); err == nil || !strings.Contains(err.Error(), EnvHWBreakpoints) {
		t.Fatalf("bad override accepted: %v", err)
	}
}

// A CRIU_FAULT the user set is kept exactly, even against the override.
func TestPrepareKeepsUserCriuFault(t *testing.T) {
	needCriu(t)
	cleanEnv(t)
	t.Setenv("CRIU_FAULT", FaultNoBreakpoints)
	t.Setenv(EnvHWBreakpoints, HWWorks)
	e, err := Prepare(t.TempDir(), "")
	if err != nil || e.Source != SourceEnvFault || e.Fault != FaultNoBreakpoints || os.Getenv("CRIU_FAULT") != FaultNoBreakpoints {
		t.Fatalf("%+v %v, CRIU_FAULT=%q", e, err, os.Getenv("CRIU_FAULT"))
	}
	// ...and DisableHWBreakpoints respects it.
	if err := e.DisableHWBreakpoints(t.TempDir()); err != nil || e.Source != SourceEnvFault {
		t.Fatalf("%v %+v", err, e)
	}
}

// CRIU refuses to start with CRIU_FAULT="" or "0" ("CRIU_FAULT out of
// bounds"): an empty one is dropped, a bad one is a clear error.
func TestPrepareBadCriuFault(t *testing.T) {
	needCriu(t)
	cleanEnv(t)
	t.Setenv(EnvHWBreakpoints, HWBroken)
	t.Setenv("CRIU_FAULT", "")
	e, err := Prepare(t.TempDir(), "")
	if err != nil || e.Source != SourceEnvHW || os.Getenv("CRIU_FAULT") != FaultNoBreakpoints {
		t.Fatalf("empty CRIU_FAULT: %+v %v", e, err)
	}
	t.Setenv("CRIU_FAULT", "0")
	if _, err := Prepare(t.TempDir(), ""); err == nil || !strings.Contains(err.Error(), `CRIU_FAULT="0"`) {
		t.Fatalf("CRIU_FAULT=0: %v", err)
	}
}

// After a dump hung at the breakpoint, the rest of the boot runs without.
func TestDisableHWBreakpointsSticks(t *testing.T) {
	needCriu(t)
	cleanEnv(t)
	state := t.TempDir()
	if err := writeCache(state, HWWorks, SourceProbe); err != nil {
		t.Fatal(err)
	}
	e, err := Prepare(state, "")
	if err != nil || e.Source != SourceCache || e.HWBreakpoints != HWWorks {
		t.Fatalf("%+v %v", e, err)
	}
	if err := e.DisableHWBreakpoints(state); err != nil {
		t.Fatal(err)
	}
	if e.Fault != FaultNoBreakpoints || os.Getenv("CRIU_FAULT") != FaultNoBreakpoints {
		t.Fatalf("%+v CRIU_FAULT=%q", e, os.Getenv("CRIU_FAULT"))
	}
	os.Unsetenv("CRIU_FAULT") // a new mycr process
	e, err = Prepare(state, "")
	if err != nil || e.Source != SourceCache || e.HWBreakpoints != HWBroken || os.Getenv("CRIU_FAULT") != FaultNoBreakpoints {
		t.Fatalf("%+v %v", e, err)
	}
}

func TestPrepareMissingCriu(t *testing.T) {
	cleanEnv(t)
	_, err := Prepare(t.TempDir(), "/nonexistent/criu")
	if err == nil || !strings.Contains(err.Error(), "make deps") {
		t.Fatalf("got %v", err)
	}
}
