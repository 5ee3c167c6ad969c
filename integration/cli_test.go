package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFeatures(t *testing.T) {
	e := NewEnv(t)
	r := e.MustRun("features")
	var f struct {
		OCIVersionMin string            `json:"ociVersionMin"`
		OCIVersionMax string            `json:"ociVersionMax"`
		Annotations   map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &f); err != nil {
		t.Fatalf("features: not JSON: %v\n%s", err, r)
	}
	if f.OCIVersionMin == "" || f.OCIVersionMax == "" {
		t.Errorf("features: ociVersionMin/Max missing\n%s", r)
	}
	const key = "org.opencontainers.runc.checkpoint.enabled"
	if f.Annotations[key] != "true" {
		t.Errorf("features: annotation %s = %q, want \"true\"\n%s", key, f.Annotations[key], r)
	}
}

func TestVersion(t *testing.T) {
	e := NewEnv(t)
	r := e.MustRun("--version")
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	pats := []string{
		"^" + regexp.QuoteMeta(progName) + ` version \S+$`,
		`^commit: \S+`,
		`^spec: \d+\.\d+\.\d+`,
	}
	if len(lines) < len(pats) {
		t.Fatalf("--version: want at least %d lines\n%s", len(pats), r)
	}
	for i, p := range pats {
		if !regexp.MustCompile(p).MatchString(lines[i]) {
			t.Errorf("--version line %d %q does not match %s", i+1, lines[i], p)
		}
	}
}

// TestMissingContainer: every command on an id that was never created says so.
func TestMissingContainer(t *testing.T) {
	e := NewEnv(t)
	id := runID + "-nosuch"
	want := fmt.Sprintf("container %s does not exist", id)
	for _, args := range [][]string{
		{"state", id},
		{"start", id},
		{"kill", id, "KILL"},
		{"pause", id},
		{"resume", id},
		{"ps", id},
		{"exec", id, "true"},
		{"delete", id},
		{"checkpoint", "--image-path", e.Mkdir("img"), id},
	} {
		r := e.Run(args...)
		if r.Code == 0 {
			t.Errorf("%v succeeded on a missing container:\n%s", args, r)
		} else if !strings.Contains(r.Stderr, want) {
			t.Errorf("%v: stderr should say %q\n%s", args, want, r)
		}
	}
	e.ExpectNoState("after commands on a missing container")
}

func TestDeleteForceRunning(t *testing.T) {
	e := NewEnv(t)
	bundle := e.NewBundle()
	id := e.ID("force")
	e.MustRun("run", "-d", "--bundle", bundle, id)
	s := e.WaitStatus(id, "running", 5*time.Second)
	r := e.Run("delete", id)
	if r.Code == 0 {
		t.Errorf("delete (without --force) of a running container succeeded:\n%s", r)
	}
	e.ExpectStatus(id, "running")
	e.MustRun("delete", "--force", id)
	e.ExpectGone(id)
	WaitPidGone(t, s.Pid, 5*time.Second)
	e.ExpectNoState("after delete --force")
}

// TestRunForeground: `run` without -d waits for the container and returns its
// exit code, with its output on mycr's stdout.
func TestRunForeground(t *testing.T) {
	e := NewEnv(t)
	bundle := e.NewBundle(Shell("echo out-$((6*7)); echo err >&2; exit 7"))
	id := e.ID("fg")
	r := e.Run("run", "--bundle", bundle, id)
	if r.Code != 7 || r.Stdout != "out-42\n" || !strings.Contains(r.Stderr, "err") {
		t.Errorf("run of `echo out-42; echo err >&2; exit 7`: want exit 7, stdout \"out-42\\n\", stderr with err\n%s", r)
	}
	// A foreground run cleans up after itself.
	e.ExpectGone(id)
}

// TestSpecDefault: `spec` writes runc's default config and refuses to overwrite it.
func TestSpecDefault(t *testing.T) {
	e := NewEnv(t)
	dir := e.Mkdir("spec")
	e.MustRun("spec", "--bundle", dir)
	s := ReadSpec(t, dir)
	if s.Process == nil || !slices.Equal(s.Process.Args, []string{"sh"}) || !s.Process.Terminal {
		t.Errorf("default process: %+v, want args [sh] and terminal true", s.Process)
	}
	if s.Root == nil || s.Root.Path != "rootfs" {
		t.Errorf("default root: %+v, want path rootfs", s.Root)
	}
	var ns []string
	if s.Linux != nil {
		for _, n := range s.Linux.Namespaces {
			if n.Path == "" {
				ns = append(ns, string(n.Type))
			}
		}
	}
	for _, want := range []string{"pid", "network", "ipc", "uts", "mount"} {
		if !slices.Contains(ns, want) {
			t.Errorf("default namespaces %v lack %s", ns, want)
		}
	}
	before, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	r := e.MustFail("spec", "--bundle", dir)
	expectMentions(t, r, "spec over an existing config.json", "exist")
	if after, _ := os.ReadFile(filepath.Join(dir, "config.json")); string(after) != string(before) {
		t.Errorf("a refused spec still changed config.json")
	}
}

// TestLogFile: --log/--log-format json send the runtime's log to a file as JSON
// lines; the error still reaches stderr.
func TestLogFile(t *testing.T) {
	e := NewEnv(t)
	log := filepath.Join(e.Dir, "mycr.log")
	id := runID + "-nolog"
	r := e.MustFail("--log", log, "--log-format", "json", "--debug", "state", id)
	if !strings.Contains(r.Stderr, "does not exist") {
		t.Errorf("with --log the error should still reach stderr\n%s", r)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatalf("--log file: %v", err)
	}
	found := false
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Errorf("--log-format json: line %q is not JSON: %v", l, err)
			continue
		}
		if msg, _ := m["msg"].(string); strings.Contains(msg, "does not exist") && m["level"] == "error" {
			found = true
		}
	}
	if !found {
		t.Errorf("--log file holds no JSON error entry about the missing container:\n%s", b)
	}
}

// TestKillAll: kill --all signals every process of the container, exec'd ones too,
// and is no error once the container has stopped.
func TestKillAll(t *testing.T) {
	e := NewEnv(t)
	bundle := e.NewBundle()
	id := e.ID("killall")
	e.MustRun("run", "-d", "--bundle", bundle, id)
	s := e.WaitStatus(id, "running", 5*time.Second)
	e.MustRun("exec", "-d", id, "sleep", "100000")
	var pids []int
	waitFor(t, 5*time.Second, "two processes in ps", func() (bool, string) {
		r := e.MustRun("ps", "--format", "json", id)
		pids = nil
		json.Unmarshal([]byte(r.Stdout), &pids)
		return len(pids) >= 2, r.Stdout
	})
	e.MustRun("kill", "--all", id, "KILL")
	e.WaitStatus(id, "stopped", 10*time.Second)
	for _, p := range pids {
		WaitPidGone(t, p, 5*time.Second)
	}
	WaitPidGone(t, s.Pid, 5*time.Second)
	// As runc 1.4: a plain kill of a stopped container fails and says why, --all
	// does not (containerd's shim sends it on every removal).
	if r := e.MustFail("kill", id, "0"); !strings.Contains(r.Stderr, "container not running") {
		t.Errorf("kill of a stopped container does not say it is not running:\n%s", r)
	}
	e.MustRun("kill", "--all", id, "KILL")
	e.MustRun("kill", "-a", id, "0")
	e.MustRun("delete", id)
	e.ExpectGone(id)
}
