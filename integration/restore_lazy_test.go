package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// lazyLog is restore's "lazy restore" JSON log entry.
type lazyLog struct {
	Msg        string  `json:"msg"`
	ID         string  `json:"id"`
	Lazy       bool    `json:"lazy"`
	RunningMs  float64 `json:"running_ms"`
	LastPageMs float64 `json:"last_page_ms"`
	HeldUffds  int     `json:"held_uffds"`
	HotPages   int     `json:"hot_pages"`
	Fallback   string  `json:"fallback_reason"`
	Error      string  `json:"error"`
}

// lazyLogs reads every "lazy restore" entry of a JSON log file.
func lazyLogs(t *testing.T, path string) []lazyLog {
	t.Helper()
	b, _ := os.ReadFile(path)
	var out []lazyLog
	for _, l := range strings.Split(string(b), "\n") {
		var e lazyLog
		if json.Unmarshal([]byte(l), &e) == nil && e.Msg == "lazy restore" {
			out = append(out, e)
		}
	}
	return out
}

// checkpointMemProg starts memprog with mb MiB and checkpoints it into a new
// image dir. Its volume's files are kept as the dump left them: see resetVol.
func checkpointMemProg(t *testing.T, e *Env, name string, mb int) (*MemProg, string) {
	t.Helper()
	p := e.StartMemProg(name, mb)
	img := filepath.Join(e.Mkdir("img"), name)
	e.Checkpoint(p.ID, img)
	snap := map[string][]byte{}
	files, _ := filepath.Glob(filepath.Join(p.Vol, "*"))
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil {
			snap[f] = b
		}
	}
	lazyVolSnapshots[img] = snap
	return p, img
}

// lazyVolSnapshots holds each image's volume files as the dump left them.
var lazyVolSnapshots = map[string]map[string][]byte{}

// resetVol puts memprog's volume back as it was at the dump before another
// restore of the same images: a dump that caught memprog writing its count
// file (open, truncated) records that size, and CRIU refuses a file whose
// size changed ("bad size"), as after an earlier restore counted on.
func resetVol(t *testing.T, img string) {
	t.Helper()
	for f, b := range lazyVolSnapshots[img] {
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// restoreLazy runs `restore -d --lazy` with a JSON log and returns its entry.
func restoreLazy(t *testing.T, e *Env, p *MemProg, img, id string, flags ...string) (Result, lazyLog) {
	t.Helper()
	logf := filepath.Join(e.Dir, id+"-restore.json")
	resetVol(t, img)
	args := append([]string{"--log", logf, "--log-format", "json", "restore", "-d", "--lazy"}, flags...)
	r := e.RunT(3*time.Minute, append(args, "--bundle", p.Bundle, "--image-path", img, id)...)
	logs := lazyLogs(t, logf)
	if len(logs) != 1 {
		b, _ := os.ReadFile(logf)
		t.Fatalf("restore --lazy logged %d lazy restore entries, want 1:\n%s\nlog:\n%s", len(logs), r, b)
	}
	return r, logs[0]
}

// expectNoLazyLeftovers: no lazy-pages daemon, socket or marker of img is left.
func expectNoLazyLeftovers(t *testing.T, img string) {
	t.Helper()
	waitFor(t, 30*time.Second, "no criu lazy-pages daemon on "+img, func() (bool, string) {
		pids := lazyDaemons(img)
		return len(pids) == 0, "daemons " + strings.Join(pids, ",")
	})
	for _, f := range []string{"lazy-pages.socket", "lazy-pages.restoring"} {
		waitFor(t, 5*time.Second, "no "+f+" in the image dir", func() (bool, string) {
			_, err := os.Stat(filepath.Join(img, f))
			return err != nil, "it is there"
		})
	}
}

// lazyDaemons are the pids of `criu lazy-pages` processes with img among their arguments.
func lazyDaemons(img string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, d := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) > 1 && args[1] == "lazy-pages" && slices.Contains(args, img) {
			out = append(out, d.Name())
		}
	}
	return out
}

// TestRestoreLazy: a lazily restored memprog runs at once, the JSON log says
// when it ran and when the last page arrived, and every page is intact.
func TestRestoreLazy(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	p, img := checkpointMemProg(t, e, "lazy", 256)
	id := e.ID("lazyback")
	r, l := restoreLazy(t, e, p, img, id, "--print-stats")
	if r.Code != 0 {
		t.Fatalf("restore --lazy failed:\n%s", r)
	}
	t.Logf("lazy restore of 256 MiB: running after %.0f ms, last page after %.0f ms, %d userfaultfds held", l.RunningMs, l.LastPageMs, l.HeldUffds)
	if !l.Lazy || l.Fallback != "" || l.RunningMs <= 0 || l.LastPageMs < l.RunningMs || l.HeldUffds < 1 {
		t.Errorf("lazy restore entry %+v: want lazy, running, then every page, userfaultfds held", l)
	}
	if !strings.Contains(r.Stdout, "lazy restore: running after") {
		t.Errorf("--print-stats printed no lazy report:\n%s", r)
	}
	e.ExpectStatus(id, "running")
	e.ExpectMemoryIntact(p, id)
	WaitCounterAbove(t, p.Count, MustCounter(t, p.Count)+3, 10*time.Second)
	expectNoLazyLeftovers(t, img)
}

// TestRestoreLazyFallback: where lazy pages do not work (a CRIU whose `check
// --feature uffd-noncoop` fails), restore --lazy restores eagerly and says
// why; with --no-fallback it refuses, naming the problem, and leaves nothing.
func TestRestoreLazyFallback(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	p, img := checkpointMemProg(t, e, "lazyfb", 64)
	noUffd := criuWrapper(t, e, noUffdNoncoop)
	refused := e.ID("refused")
	r := e.RunT(3*time.Minute, "--criu", noUffd, "restore", "-d", "--lazy", "--no-fallback", "--bundle", p.Bundle, "--image-path", img, refused)
	if r.Code == 0 || !strings.Contains(r.Stderr, "lazy pages do not work here") || !strings.Contains(r.Stderr, "uffd-noncoop") {
		t.Fatalf("restore --lazy --no-fallback without uffd-noncoop: want a refusal naming the problem:\n%s", r)
	}
	e.ExpectNothingLeft(refused, "refused lazy restore")
	id := e.ID("eager")
	r = e.RunT(3*time.Minute, "--criu", noUffd, "restore", "-d", "--lazy", "--print-stats", "--bundle", p.Bundle, "--image-path", img, id)
	if r.Code != 0 {
		t.Fatalf("restore --lazy without uffd-noncoop did not fall back:\n%s", r)
	}
	if !strings.Contains(r.Stderr, "restoring eagerly") || !strings.Contains(r.Stdout, "restored eagerly") {
		t.Errorf("the fallback was not reported:\n%s", r)
	}
	e.ExpectStatus(id, "running")
	e.ExpectMemoryIntact(p, id)
	expectNoLazyLeftovers(t, img)
}

// TestRestoreLazyImportAndAll: --lazy with --import (the unpacked images stay
// until the last page, then go; --record-hot-pages is refused, since they go)
// and with --all (each container lazily, recording its hot pages).
func TestRestoreLazyImportAndAll(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	p := e.StartMemProg("lazyimp", 64)
	archive := filepath.Join(e.Dir, "lazy.tar.zst")
	e.MustRun("checkpoint", "--export", archive, p.ID)
	hot := e.ID("importhot")
	r := e.RunT(time.Minute, "restore", "-d", "--lazy", "--record-hot-pages", "--import", archive, "--bundle", p.Bundle, hot)
	if r.Code == 0 || !strings.Contains(r.Stderr, "unpack") {
		t.Errorf("restore --lazy --record-hot-pages --import: want a refusal that says to unpack the archive:\n%s", r)
	}
	e.ExpectNothingLeft(hot, "refused --record-hot-pages --import")
	id := e.ID("imported")
	logf := filepath.Join(e.Dir, "import.json")
	r = e.RunT(3*time.Minute, "--log", logf, "--log-format", "json", "restore", "-d", "--lazy", "--import", archive, "--bundle", p.Bundle, id)
	if r.Code != 0 {
		t.Fatalf("restore --lazy --import failed:\n%s", r)
	}
	if ls := lazyLogs(t, logf); len(ls) != 1 || !ls[0].Lazy || ls[0].LastPageMs <= 0 {
		t.Errorf("restore --lazy --import: lazy entries %+v", ls)
	}
	e.ExpectMemoryIntact(p, id)
	e.MustRun("delete", "--force", id)

	a, b := e.StartMemProg("lazyall-a", 64), e.StartMemProg("lazyall-b", 64)
	images := filepath.Join(e.Mkdir("all"), "images")
	e.MustRun("checkpoint", "--all", "--image-root", images)
	logf = filepath.Join(e.Dir, "all.json")
	r = e.RunT(3*time.Minute, "--log", logf, "--log-format", "json", "restore", "--all", "--lazy", "--record-hot-pages", "--image-root", images)
	if r.Code != 0 {
		t.Fatalf("restore --all --lazy failed:\n%s", r)
	}
	ls := lazyLogs(t, logf)
	if len(ls) != 2 {
		t.Fatalf("restore --all --lazy: %d lazy entries, want 2: %+v", len(ls), ls)
	}
	for _, l := range ls {
		if !l.Lazy || l.LastPageMs <= 0 {
			t.Errorf("restore --all --lazy: %+v", l)
		}
	}
	for _, m := range []*MemProg{a, b} {
		e.ExpectStatus(m.ID, "running")
		e.ExpectMemoryIntact(m, m.ID)
		expectNoLazyLeftovers(t, filepath.Join(images, m.ID))
	}
}

// TestRestoreLazyDevNullStdio: a container whose stdio is /dev/null (declared
// CRIU externals, inherit-fd in the restore's CRIU config, which `criu
// lazy-pages` must not read) restores lazily.
func TestRestoreLazyDevNullStdio(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	devNull := func(c *exec.Cmd) {
		f, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		c.Stdin, c.Stdout, c.Stderr = f, f, f
	}
	p := e.StartMemProg("lazynull", 32)
	e.MustRun("delete", "--force", p.ID)
	os.Remove(filepath.Join(p.Vol, "ready"))
	os.Remove(p.Count)
	if r := e.startWith(devNull, "run", "-d", "--bundle", p.Bundle, p.ID).Wait(time.Minute); r.Code != 0 {
		t.Fatalf("run -d with /dev/null stdio: %s", r)
	}
	waitFor(t, time.Minute, "memprog to fill its memory again", func() (bool, string) {
		_, err := os.Stat(filepath.Join(p.Vol, "ready"))
		return err == nil, fmt.Sprint(err)
	})
	WaitCounterAbove(t, p.Count, 2, 10*time.Second)
	img := filepath.Join(e.Mkdir("img"), "null")
	e.Checkpoint(p.ID, img)
	id := e.ID("nullback")
	if r := e.startWith(devNull, "restore", "-d", "--lazy", "--no-fallback", "--bundle", p.Bundle, "--image-path", img, id).Wait(3 * time.Minute); r.Code != 0 {
		t.Fatalf("restore --lazy with /dev/null stdio failed:\n%s", r)
	}
	e.ExpectMemoryIntact(p, id)
	expectNoLazyLeftovers(t, img)
}
