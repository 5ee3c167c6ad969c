package migrate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mycr/mycr/runtime"
)

func openRoot(t *testing.T) *runtime.Root {
	t.Helper()
	r, err := runtime.OpenRoot(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPlan: what can be refused before the container is touched is refused
// with an error naming the flag to change; defaults are filled in.
func TestPlan(t *testing.T) {
	src, dst := openRoot(t), openRoot(t)
	if err := os.Mkdir(dst.StateDir("taken"), 0o700); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		o    Opts
		want string // "" = accepted
	}{
		{Opts{ID: "c1"}, "no target: pass --to-root"},
		{Opts{ID: "c1", Target: src}, "the target is the source itself"},
		{Opts{ID: "c1", Target: src, TargetID: "c2"}, ""},
		{Opts{ID: "../x", Target: dst}, "invalid"},
		{Opts{ID: "c1", Target: dst, TargetID: "taken"}, "container taken already exists"},
		{Opts{ID: "c1", Target: dst, Mode: "fast"}, `invalid --mode "fast"`},
		{Opts{ID: "c1", Target: dst, Address: "192.0.2.1"}, "only a loopback address"},
		{Opts{ID: "c1", Target: dst, Address: "::1", Port: 70000}, "invalid --port 70000"},
		{Opts{ID: "c1", Target: dst, Mode: StopCopy, Address: "::1", Port: 4000}, ""},
	}
	for _, c := range cases {
		m := &migration{r: src, o: c.o}
		err := m.plan()
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: %v, want %q", c.o, err, c.want)
		}
	}
	m := &migration{r: src, o: Opts{ID: "c1", Target: dst}}
	if err := m.plan(); err != nil || m.o.TargetID != "c1" || m.o.Mode != Lazy || m.o.Address != "127.0.0.1" || m.rep.TargetRoot != dst.Dir {
		t.Errorf("defaults: %+v %+v %v", m.o, m.rep, err)
	}
}

// TestChooseMode: lazy where lazy pages work, else stop-and-copy with the
// reason, or an error with --no-fallback; stop-and-copy never probes.
func TestChooseMode(t *testing.T) {
	works := func() string { return "" }
	broken := func() string { return "no userfaultfd" }
	probed := func() string { t.Error("stop-and-copy probed lazy pages"); return "" }
	cases := []struct {
		requested  string
		noFallback bool
		unusable   func() string
		mode, why  string
		err        bool
	}{
		{Lazy, false, works, Lazy, "", false},
		{Lazy, false, broken, StopCopy, "no userfaultfd", false},
		{Lazy, true, broken, "", "", true},
		{StopCopy, true, probed, StopCopy, "", false},
	}
	for _, c := range cases {
		mode, why, err := chooseMode(c.requested, c.noFallback, c.unusable)
		if mode != c.mode || why != c.why || (err != nil) != c.err {
			t.Errorf("chooseMode(%s, noFallback=%v): %q %q %v", c.requested, c.noFallback, mode, why, err)
		}
	}
}

// TestFallbackAfter: only a lazy dump refused before the switch falls back,
// and the reason is the first line of its error.
func TestFallbackAfter(t *testing.T) {
	refused := fmt.Errorf("attempt: %w", &lazyRefusedError{Err: errors.New("page server: bad fd\nCRIU log: x")})
	if why, ok := fallbackAfter(refused, false); !ok || why != "lazy migration failed before the switch: page server: bad fd" {
		t.Errorf("refused dump: %q %v", why, ok)
	}
	if _, ok := fallbackAfter(refused, true); ok {
		t.Error("fell back with --no-fallback")
	}
	for _, err := range []error{nil, errors.New("restore on the target failed"), &dumpEndedError{errors.New("x")}} {
		if _, ok := fallbackAfter(err, false); ok {
			t.Errorf("fell back after %v", err)
		}
	}
}

// TestImageDir: a given image dir must be empty; the default is under the temp base.
func TestImageDir(t *testing.T) {
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "core-1.img"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := imageDir("", full, "source"); err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Errorf("a non-empty image dir: %v", err)
	}
	empty := t.TempDir()
	if got, err := imageDir("", empty, "source"); err != nil || got != empty {
		t.Errorf("an empty image dir: %q %v", got, err)
	}
	if got, _ := imageDir("/tmp/base", "", "target"); got != "/tmp/base/target" {
		t.Errorf("default: %q", got)
	}
}
