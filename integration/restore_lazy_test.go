package integration

import (
	"encoding/json"
	"os"
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

// checkpointMemProg starts memprog with mb MiB and checkpoints it into a new image dir.
func checkpointMemProg(t *testing.T, e *Env, name string, mb int) (*MemProg, string) {
	t.Helper()
	p := e.StartMemProg(name, mb)
	img := filepath.Join(e.Mkdir("img"), name)
	e.Checkpoint(p.ID, img)
	return p, img
}

// restoreLazy runs `restore -d --lazy` with a JSON log and returns its entry.
func restoreLazy(t *testing.T, e *Env, p *MemProg, img, id string, flags ...string) (Result, lazyLog) {
	t.Helper()
	logf := filepath.Join(e.Dir, id+"-restore.json")
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
	for _, f := range []string{"lazy-pages.socket", "lazy-pages.restoring"} {
		if _, err := os.Stat(filepath.Join(img, f)); err == nil {
			t.Errorf("%s left in the image dir", f)
		}
	}
	waitFor(t, 10*time.Second, "no criu lazy-pages daemon on "+img, func() (bool, string) {
		pids := lazyDaemons(img)
		return len(pids) == 0, "daemons " + strings.Join(pids, ",")
	})
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
