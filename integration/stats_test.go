package integration

import (
	"bufio"
	"encoding/json"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPrintStats: --print-stats shows CRIU's timings, the image size and mycr's
// overhead, also as a JSON log entry; without it (and not on a terminal) the
// output stays runc's: nothing. CRIU's stats files stay where CRIU wrote them
// (Podman reads stats-dump itself).
func TestPrintStats(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	c := e.StartCounter("stats")
	quiet := e.MustRun("checkpoint", "--leave-running", "--image-path", filepath.Join(e.Dir, "img0"), c.ID)
	if quiet.Stdout != "" || quiet.Stderr != "" {
		t.Errorf("checkpoint without --print-stats, not on a terminal, printed %q / %q", quiet.Stdout, quiet.Stderr)
	}
	img := filepath.Join(e.Dir, "img1")
	logPath := filepath.Join(e.Dir, "log.json")
	r := e.MustRun("--log", logPath, "--log-format", "json", "checkpoint", "--leave-running", "--print-stats", "--image-path", img, c.ID)
	for _, want := range []string{"freezing time", "frozen time", "memdump time", "memwrite time", "pages scanned",
		"pages written", "pages skipped", "image size", "total time", "mycr overhead"} {
		if !regexp.MustCompile(`(?m)^` + want + ` +\S`).MatchString(r.Stdout) {
			t.Errorf("--print-stats output lacks %q:\n%s", want, r.Stdout)
		}
	}
	entry := statsLogEntry(t, logPath, "checkpoint")
	if entry["id"] != c.ID || num(entry, "frozen_ms") <= 0 || num(entry, "pages_written") <= 0 || num(entry, "pages_scanned") < num(entry, "pages_written") {
		t.Errorf("JSON statistics entry: %v", entry)
	}
	if size := dirSize(t, img); num(entry, "image_bytes") != float64(size) {
		t.Errorf("image_bytes %v, the image dir holds %d bytes", entry["image_bytes"], size)
	}
	total, criuMs, over := num(entry, "total_ms"), num(entry, "criu_ms"), num(entry, "overhead_ms")
	if total < criuMs || math.Abs(total-criuMs-over) > 0.01 || total > float64(r.Dur.Milliseconds()+50) {
		t.Errorf("total %v = CRIU %v + overhead %v? (the command took %v)", total, criuMs, over, r.Dur)
	}
	if _, err := os.Stat(filepath.Join(img, "stats-dump")); err != nil {
		t.Errorf("CRIU's stats-dump is gone: %v", err)
	}

	// With a work dir, CRIU writes its stats there, and they are read there.
	work := filepath.Join(e.Dir, "work")
	img2 := filepath.Join(e.Dir, "img2")
	r = e.MustRun("checkpoint", "--print-stats", "--work-path", work, "--image-path", img2, c.ID)
	if !strings.Contains(r.Stdout, "frozen time") {
		t.Errorf("--print-stats with --work-path:\n%s", r)
	}

	rs := e.MustRun("restore", "-d", "--print-stats", "--bundle", c.Bundle, "--image-path", img2, "--work-path", work, c.ID)
	for _, want := range []string{"forking time", "restore time", "pages restored", "image size", "mycr overhead"} {
		if !strings.Contains(rs.Stdout, want) {
			t.Errorf("restore --print-stats lacks %q:\n%s", want, rs.Stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(work, "stats-restore")); err != nil {
		t.Errorf("CRIU's stats-restore is gone: %v", err)
	}
	e.ExpectStatus(c.ID, "running")
	e.MustRun("checkpoint", "--image-path", filepath.Join(e.Dir, "img3"), c.ID)
	quiet, _ = e.RestoreDetached(c.ID, c.Bundle, filepath.Join(e.Dir, "img3"))
	if quiet.Stdout != "" || quiet.Stderr != "" {
		t.Errorf("restore without --print-stats, not on a terminal, printed %q / %q", quiet.Stdout, quiet.Stderr)
	}
}

// TestStatsOnTerminal: on a terminal, checkpoint and restore print one summary
// line on stderr (stdout stays empty), and a long dump draws a progress bar in
// place, erased before the summary; with stderr a pipe, none of it.
func TestStatsOnTerminal(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	c := e.StartCounter("tty")
	img := filepath.Join(e.Dir, "img")
	r := e.RunStderrOnTty(t, "checkpoint", "--image-path", img, c.ID)
	re := `checkpointed ` + regexp.QuoteMeta(c.ID) + `: [\d.]+ ?(B|KiB|MiB) in \d+\.\d\d s \(frozen \d+ ms\) -> ` + regexp.QuoteMeta(img) + "\r?\n"
	if r.Code != 0 || r.Stdout != "" || !regexp.MustCompile(re).MatchString(r.Tty) {
		t.Errorf("checkpoint on a terminal: exit %d, stdout %q, terminal %q; want /%s/", r.Code, r.Stdout, r.Tty, re)
	}
	r = e.RunStderrOnTty(t, "restore", "-d", "--bundle", c.Bundle, "--image-path", img, c.ID)
	re = `restored ` + regexp.QuoteMeta(c.ID) + `: [\d.]+ ?(B|KiB|MiB) in \d+\.\d\d s \(CRIU restore \d+ ms\) <- ` + regexp.QuoteMeta(img) + "\r?\n"
	if r.Code != 0 || r.Stdout != "" || !regexp.MustCompile(re).MatchString(r.Tty) {
		t.Errorf("restore on a terminal: exit %d, stdout %q, terminal %q; want /%s/", r.Code, r.Stdout, r.Tty, re)
	}
	e.ExpectStatus(c.ID, "running")

	// A dump of ~500 MB takes long enough for the bar (drawn after 250 ms).
	vol := e.Mkdir("vol")
	big := e.ID("big")
	e.MustRun("run", "-d", "--bundle", e.NewBundle(Bind(vol, "/out"), Shell(
		`B=$(head -c 500000000 /dev/zero | tr '\0' x); echo ready >/out/ready; while true; do sleep 1; done`)), big)
	waitFor(t, 60*time.Second, "the big container to fill its memory", func() (bool, string) {
		_, err := os.Stat(filepath.Join(vol, "ready"))
		return err == nil, "not ready"
	})
	r = e.RunStderrOnTty(t, "checkpoint", "--leave-running", "--image-path", filepath.Join(e.Dir, "big1"), big)
	m := regexp.MustCompile(`checkpointed \S+: [\d.]+ ?MiB in (\d+\.\d\d) s`).FindStringSubmatch(r.Tty)
	if r.Code != 0 || m == nil {
		t.Fatalf("checkpoint of the big container on a terminal: exit %d, terminal %q", r.Code, r.Tty)
	}
	bar := regexp.MustCompile(`\r\x1b\[Kcheckpoint ` + regexp.QuoteMeta(big[:min(len(big), 13)]) + `\S* \[=* *\] +\d+% [\d.]+ ?\S+ / ~[\d.]+ ?MiB`)
	erased := strings.Contains(r.Tty, "\r\x1b[Kcheckpointed "+big)
	secs, _ := strconv.ParseFloat(m[1], 64)
	switch {
	case bar.MatchString(r.Tty) && !erased:
		t.Errorf("the progress bar is not erased before the summary: %q", r.Tty)
	case !bar.MatchString(r.Tty) && secs >= 0.75:
		t.Errorf("a %.2f s dump drew no progress bar: %q", secs, r.Tty)
	case !bar.MatchString(r.Tty):
		t.Logf("the dump took %.2f s, too short to be sure of a bar: %q", secs, r.Tty)
	}
	if strings.Count(r.Tty, "\n") != 1 {
		t.Errorf("the progress bar scrolls: %q", r.Tty)
	}
	p := e.Checkpoint(big, filepath.Join(e.Dir, "big2"), "--leave-running")
	if p.Stdout != "" || p.Stderr != "" {
		t.Errorf("checkpoint with stderr a pipe printed %q / %q", p.Stdout, p.Stderr)
	}
}

// statsLogEntry finds the "criu statistics" entry of op in a JSON log.
func statsLogEntry(t *testing.T, path, op string) map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "criu statistics" && m["op"] == op {
			return m
		}
	}
	data, _ := os.ReadFile(path)
	t.Fatalf("no %s statistics entry in the JSON log:\n%s", op, data)
	return nil
}

func num(m map[string]any, k string) float64 {
	f, _ := m[k].(float64)
	return f
}

func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
