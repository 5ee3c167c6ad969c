package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestLogsHoldNoSecrets: with --debug and JSON logs, a full lifecycle with
// checkpoint, restore and exec never writes the container's environment values
// to mycr's log or its output.
func TestLogsHoldNoSecrets(t *testing.T) {
	requireCRIU(t)
	const secret = "s3cr3t-v4lue-7781"
	e := NewEnv(t)
	c := e.StartCounter("secrets", Edit(func(s *specs.Spec) {
		s.Process.Env = append(s.Process.Env, "API_TOKEN="+secret)
	}))
	log := filepath.Join(e.Dir, "log.json")
	g := []string{"--debug", "--log", log, "--log-format", "json"}
	img := filepath.Join(e.Dir, "img")
	var out strings.Builder
	for _, args := range [][]string{
		{"checkpoint", "--image-path", img, c.ID},
		{"restore", "-d", "--bundle", c.Bundle, "--image-path", img, c.ID},
		{"exec", c.ID, "true"},
		{"state", c.ID},
		{"checkpoint", "--leave-running", "--print-stats", "--image-path", img + "2", c.ID},
	} {
		r := e.MustRun(append(g, args...)...)
		out.WriteString(r.Stdout + r.Stderr)
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), secret) || strings.Contains(out.String(), secret) {
		t.Fatalf("the container's environment value %q appears in mycr's log or output", secret)
	}
	if len(data) == 0 {
		t.Fatal("the debug log is empty: the test checked nothing")
	}
}
