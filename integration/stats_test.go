package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrintStats: --print-stats shows CRIU's timings and mycr's overhead, also as a
// JSON log entry; without it (and not on a terminal) output stays runc's: empty.
func TestPrintStats(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	c := e.StartCounter("stats")
	quiet := e.MustRun("checkpoint", "--leave-running", "--image-path", filepath.Join(e.Dir, "img0"), c.ID)
	if quiet.Stdout != "" {
		t.Errorf("checkpoint without --print-stats printed %q", quiet.Stdout)
	}
	logPath := filepath.Join(e.Dir, "log.json")
	r := e.MustRun("--log", logPath, "--log-format", "json", "checkpoint", "--print-stats", "--image-path", filepath.Join(e.Dir, "img1"), c.ID)
	for _, want := range []string{"frozen time", "pages written", "image size", "mycr overhead"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("--print-stats output lacks %q:\n%s", want, r.Stdout)
		}
	}
	log, _ := os.ReadFile(logPath)
	if !strings.Contains(string(log), `"msg":"criu statistics"`) || !strings.Contains(string(log), `"frozen_ms"`) {
		t.Errorf("JSON log has no statistics entry:\n%s", log)
	}
	rs := e.MustRun("restore", "-d", "--print-stats", "--bundle", c.Bundle, "--image-path", filepath.Join(e.Dir, "img1"), c.ID)
	if !strings.Contains(rs.Stdout, "restore time") {
		t.Errorf("restore --print-stats lacks the restore time:\n%s", rs.Stdout)
	}
}
