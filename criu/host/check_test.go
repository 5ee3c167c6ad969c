package host

import (
	"strings"
	"testing"
)

func TestCheckThisMachine(t *testing.T) {
	needCriu(t)
	cleanEnv(t)
	r := Check(t.TempDir(), "")
	t.Logf("%+v", r.Facts)
	if p := r.Problems(); len(p) != 0 {
		t.Fatalf("C/R should work here, problems: %q", p)
	}
	if r.CriuVersion < MinVersion || r.Kernel == "" || r.CgroupMode == "" {
		t.Fatalf("report %+v", r)
	}
	if sd := r.criuFeature("mem_dirty_track"); sd != "yes" && sd != "no" {
		t.Errorf("soft-dirty %q: criu check --feature should answer", sd)
	}
	names := map[string]bool{}
	for _, f := range r.Facts {
		names[f.Name] = true
		if f.Status != "OK" && f.Status != "WARN" && f.Status != "FAIL" {
			t.Errorf("fact %+v", f)
		}
	}
	for _, n := range []string{"criu", "criu check", "kernel", "cgroups", "hw breakpoints", "network lock", "userfaultfd", "soft-dirty"} {
		if !names[n] {
			t.Errorf("fact %q missing", n)
		}
	}
}

func TestCheckMissingCriu(t *testing.T) {
	cleanEnv(t)
	t.Setenv(EnvHWBreakpoints, HWBroken) // not what this test is about
	r := Check(t.TempDir(), "/nonexistent/criu")
	p := r.Problems()
	if len(p) == 0 || !strings.Contains(p[0], "make deps") {
		t.Fatalf("problems %q", p)
	}
	var criu, hw Fact
	for _, f := range r.Facts {
		switch f.Name {
		case "criu":
			criu = f
		case "hw breakpoints":
			hw = f
		}
	}
	if criu.Status != "FAIL" || !strings.Contains(hw.Value, "CRIU_FAULT=\"130\"") {
		t.Fatalf("facts %+v", r.Facts)
	}
}
