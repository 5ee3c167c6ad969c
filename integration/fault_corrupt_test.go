package integration

import (
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// imageDamage is one way a checkpoint's images get damaged (disk faults, a
// half-copied dir, tampering). apply damages the copy in dir and returns the
// file it hit.
type imageDamage struct {
	name  string
	apply func(t *testing.T, dir string, rnd *rand.Rand) string
}

// criuHeader is the size of the two magics every CRIU image starts with.
const criuHeader = 8

// imageDamages are the kinds of damage restore and inspect must survive.
var imageDamages = []imageDamage{
	{"truncated pages image", func(t *testing.T, dir string, rnd *rand.Rand) string {
		f := imageFile(t, dir, "pages-*.img")
		size := fileSize(t, f)
		mustTruncate(t, f, rnd.Int63n(max(size, 1))/4096*4096)
		return f
	}},
	{"flipped bytes in the core image", flipper("core-1.img")},
	{"flipped bytes in the mm image", flipper("mm-1.img")},
	{"flipped bytes in the pagemap image", flipper("pagemap-1.img")},
	{"missing inventory", func(t *testing.T, dir string, _ *rand.Rand) string {
		f := imageFile(t, dir, "inventory.img")
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
		return f
	}},
	{"zero-length image", func(t *testing.T, dir string, rnd *rand.Rand) string {
		f := imageFile(t, dir, pick(rnd, "inventory.img", "pstree.img", "core-1.img", "mm-1.img", "pagemap-1.img", "pages-*.img", "files.img", "fs-1.img", "ids-1.img"))
		mustTruncate(t, f, 0)
		return f
	}},
	{"wrong magic", func(t *testing.T, dir string, rnd *rand.Rand) string {
		f := imageFile(t, dir, pick(rnd, "inventory.img", "pstree.img", "core-1.img", "mm-1.img", "pagemap-1.img", "files.img"))
		editFile(t, f, func(b []byte) {
			at := rnd.Intn(2) * 4 // the common magic or the image's own
			for i := at; i < at+4 && i < len(b); i++ {
				b[i] ^= byte(1 + rnd.Intn(255))
			}
		})
		return f
	}},
}

// flipper damages 1-8 random bytes of an image's payload (past its magics).
func flipper(pattern string) func(*testing.T, string, *rand.Rand) string {
	return func(t *testing.T, dir string, rnd *rand.Rand) string {
		f := imageFile(t, dir, pattern)
		editFile(t, f, func(b []byte) {
			if len(b) <= criuHeader {
				return
			}
			for n := 1 + rnd.Intn(8); n > 0; n-- {
				b[criuHeader+rnd.Intn(len(b)-criuHeader)] ^= byte(1 + rnd.Intn(255))
			}
		})
		return f
	}
}

// TestRestoreCorruptImages: a real checkpoint is damaged in each of the ways of
// imageDamages, MYCR_FAULT_TRIALS times (random positions and files). Inspect
// of the damaged dir works or fails naming it, never panics. Restore either
// fails with a clear error (exit 1, naming the image dir or CRIU's log) and
// leaves nothing (state, cgroup, process, mount), or, when the damage hit
// nothing CRIU reads, restores. After each round a restore of the intact image
// works and counts on.
func TestRestoreCorruptImages(t *testing.T) {
	requireCRIU(t)
	src, dst := NewEnv(t), NewEnv(t)
	c := src.StartCounter("corrupt")
	img := filepath.Join(src.Dir, "img")
	src.Checkpoint(c.ID, img)
	src.ExpectCheckpointedAway(c.ID, c.Pid)
	last := counterAtDump(t, c.Count)
	rnd := newRand(t)
	before := ownLeaks(dst)
	outcomes := map[string]int{}
	byKind := map[string]map[string]int{}
	for i := 0; i < faultTrials(); i++ {
		for _, d := range imageDamages {
			if only := os.Getenv("MYCR_FAULT_ONLY"); only != "" && !strings.Contains(d.name, only) {
				continue
			}
			bad := filepath.Join(dst.Dir, fmt.Sprintf("bad%d", i))
			if out, err := exec.Command("cp", "-a", img, bad).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v %s", err, out)
			}
			file := filepath.Base(d.apply(t, bad, rnd))
			what := fmt.Sprintf("%s (%s)", d.name, file)
			expectCleanInspect(t, dst, bad, what)
			out := restoreDamaged(t, dst, c, bad, what)
			outcomes[out]++
			if byKind[d.name] == nil {
				byKind[d.name] = map[string]int{}
			}
			byKind[d.name][out]++
			os.RemoveAll(bad)
		}
		// The intact image still restores, under a fresh ID.
		id := dst.ID("good")
		restoredCounts(t, c, last, func() { dst.RestoreDetached(id, c.Bundle, img) })
		dst.MustRun("delete", "--force", id)
		dst.ExpectNothingLeft(id, "restore of the intact image, then delete")
	}
	after := ownLeaks(dst)
	expectNoGrowth(t, before, after)
	for _, d := range imageDamages {
		t.Logf("%s: %v", d.name, byKind[d.name])
	}
	logResult(t, reliabilityResult{Fault: fmt.Sprintf("restore and inspect of damaged images (%d kinds: %s)", len(imageDamages), damageNames()),
		Trials: faultTrials() * len(imageDamages), Outcomes: outcomes, Before: before, After: after,
		Note: fmt.Sprintf("each kind %d times; the intact image restored after every round", faultTrials())})
}

// restoreDamaged restores bad as a new container and names the outcome.
func restoreDamaged(t *testing.T, e *Env, c *Counter, bad, what string) string {
	t.Helper()
	id := e.ID("bad")
	r := e.RunT(2*time.Minute, "restore", "-d", "--bundle", c.Bundle, "--image-path", bad, id)
	if r.Code == 0 {
		s, _, ok := e.State(id)
		out := "restored anyway (damage in bytes CRIU does not use), deleted"
		if !ok || s.Status != "running" {
			out = "restored, but the process died at once, deleted"
		}
		e.MustRun("delete", "--force", id)
		e.ExpectNothingLeft(id, what+": restored, then delete")
		return out
	}
	if r.Code != 1 || isPanic(r.Stderr) {
		t.Errorf("%s: restore did not fail cleanly:\n%s", what, r)
	}
	if !strings.Contains(r.Stderr, bad) {
		t.Errorf("%s: the restore error names neither the image dir nor its log:\n%s", what, r)
	}
	e.ExpectNothingLeft(id, what+": failed restore")
	t.Logf("%s: restore said: %s", what, r.Stderr[max(0, strings.LastIndex(r.Stderr, "level=error")):])
	if strings.Contains(r.Stderr, "CRIU log") {
		return "refused by CRIU, nothing left"
	}
	return "refused by mycr before CRIU ran, nothing left"
}

// expectCleanInspect runs inspect on a damaged dir: success, or exit 1 naming it.
func expectCleanInspect(t *testing.T, e *Env, dir, what string) {
	t.Helper()
	for _, args := range [][]string{{"inspect", "--ps", "--files", "--sockets", "--mounts", "--mem", "--env", dir},
		{"inspect", "--search", "count", dir}} {
		r := e.Run(args...)
		switch {
		case r.Code == 0:
		case r.Code != 1 || isPanic(r.Stderr):
			t.Errorf("%s: `%s` did not fail cleanly:\n%s", what, args[1], r)
		case !strings.Contains(r.Stderr, dir):
			t.Errorf("%s: `%s` failed without naming the image dir:\n%s", what, args[1], r)
		}
	}
}

func isPanic(stderr string) bool {
	return strings.Contains(stderr, "panic:") || strings.Contains(stderr, "goroutine ")
}

func damageNames() string {
	var n []string
	for _, d := range imageDamages {
		n = append(n, d.name)
	}
	return strings.Join(n, ", ")
}

// imageFile is the first file in dir matching pattern; the test fails without one.
func imageFile(t *testing.T, dir, pattern string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, pattern))
	if len(m) == 0 {
		t.Fatalf("the checkpoint in %s has no %s", dir, pattern)
	}
	return m[0]
}

func pick(rnd *rand.Rand, s ...string) string { return s[rnd.Intn(len(s))] }

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

func mustTruncate(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

// editFile rewrites path through edit (same length).
func editFile(t *testing.T, path string, edit func([]byte)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edit(b)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRestoreCorruptInventory: a damaged inventory.img (which inspect refuses)
// is refused before restore runs CRIU: the error names the file, CRIU never
// ran (no restore.log), nothing is left, and the intact copy restores.
func TestRestoreCorruptInventory(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	c := e.StartCounter("inventory")
	img := filepath.Join(e.Dir, "img")
	e.Checkpoint(c.ID, img)
	last := counterAtDump(t, c.Count)
	for _, damage := range []string{"truncated", "garbage"} {
		bad := filepath.Join(e.Dir, "bad-"+damage)
		if out, err := exec.Command("cp", "-a", img, bad).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v %s", err, out)
		}
		damageFile(t, filepath.Join(bad, "inventory.img"), damage)
		if r := e.Run("inspect", bad); r.Code == 0 {
			t.Fatalf("inspect does not notice a %s inventory.img: the test's damage is not one\n%s", damage, r)
		}
		id := e.ID("bad")
		r := e.MustFail("restore", "-d", "--bundle", c.Bundle, "--image-path", bad, id)
		t.Logf("%s inventory.img: %s", damage, r.Stderr)
		if !strings.Contains(r.Stderr, "inventory.img") || !strings.Contains(r.Stderr, "damaged") || !strings.Contains(r.Stderr, bad) {
			t.Errorf("restore of a %s inventory.img: the error should say the checkpoint in %s is damaged, naming inventory.img\n%s", damage, bad, r)
		}
		if _, err := os.Stat(filepath.Join(bad, "restore.log")); err == nil {
			t.Errorf("restore of a %s inventory.img ran CRIU instead of refusing it first", damage)
		}
		e.ExpectNothingLeft(id, "refused restore of a "+damage+" inventory.img")
	}
	restoredCounts(t, c, last, func() { e.RestoreDetached(c.ID, c.Bundle, img) })
}
