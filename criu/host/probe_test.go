package host

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// A cache from another boot or kernel is ignored.
func TestProbeIgnoresStaleCache(t *testing.T) {
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
		cleanEnv(t) // each Probe stands for a new mycr process
		if e, err := Probe(state, ""); err != nil || e.Source != SourceProbe {
			t.Fatalf("stale cache %+v used: %+v %v", c, e, err)
		}
	}
	// Garbage is ignored too.
	os.WriteFile(filepath.Join(state, cacheFile), []byte("{not json"), 0o600)
	cleanEnv(t)
	if e, err := Probe(state, ""); err != nil || e.Source != SourceProbe {
		t.Fatalf("garbage cache: %+v %v", e, err)
	}
}

// After a dump hung at the breakpoint, the rest of the boot runs without.
func TestMarkHWBrokenSticks(t *testing.T) {
	needCriu(t)
	cleanEnv(t)
	state := t.TempDir()
	if err := writeCache(state, HWWorks, SourceProbe); err != nil {
		t.Fatal(err)
	}
	e, err := Probe(state, "")
	if err != nil || e.Source != SourceCache || e.HWBreakpoints != HWWorks {
		t.Fatalf("%+v %v", e, err)
	}
	if changed, err := e.MarkHWBroken(state); !changed || err != nil || e.Fault != FaultNoBreakpoints {
		t.Fatalf("%v %v %+v", changed, err, e)
	}
	e, err = Probe(state, "")
	if err != nil || e.Source != SourceCache || e.HWBreakpoints != HWBroken || e.Fault != FaultNoBreakpoints {
		t.Fatalf("%+v %v", e, err)
	}
	if fi, err := os.Stat(filepath.Join(state, cacheFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("cache: %v %v, want 0600", fi.Mode().Perm(), err)
	}
}

// MYCR_HW_BREAKPOINTS decides for this process only: it is not cached.
func TestProbeOverrideNotCached(t *testing.T) {
	needCriu(t)
	cleanEnv(t)
	state := t.TempDir()
	t.Setenv(EnvHWBreakpoints, HWBroken)
	if e, err := Probe(state, ""); err != nil || e.Source != SourceEnvHW || e.Fault != FaultNoBreakpoints {
		t.Fatalf("%+v %v", e, err)
	}
	if _, err := os.Stat(filepath.Join(state, cacheFile)); err == nil {
		t.Error("an override must not be cached")
	}
}
