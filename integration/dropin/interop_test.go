package dropin

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestPodmanInterop moves a counting container between mycr and Podman (runtime
// mycr, given by path) through checkpoint archives, both ways: the counter goes
// on from where it stopped each time.
func TestPodmanInterop(t *testing.T) {
	p := setupPodman(t)
	root := filepath.Join(base, "interop-root")

	t.Run("MycrToPodman", func(t *testing.T) {
		bundle := counterBundle(t, filepath.Join(base, "interop-bundle"))
		out := runWithPipe(t, "--root", root, "run", "-d", "--bundle", bundle, "m1")
		t.Cleanup(func() { _, _ = runCmd(30*time.Second, nil, mycrBin, "--root", root, "delete", "-f", "m1") })
		waitCount(t, "m1 under mycr", 5, out)
		archive := filepath.Join(base, "m1-mycr.tar.zst")
		if o, err := runCmd(90*time.Second, nil, mycrBin, "--root", root, "checkpoint", "--export", archive,
			"--rootfs-image", imageRef, "m1"); err != nil {
			t.Fatalf("mycr checkpoint --export: %v\n%s", err, o)
		}
		last := parseCounter(mustOut(t, out)).last()
		start := time.Now()
		// The archive says runtime "mycr": Podman must know mycr by that name
		// (containers.conf), not by its path (--runtime /path/to/mycr).
		if o, err := p.confCli("container", "restore", "--import", archive, "--name", "m1p"); err != nil {
			t.Fatalf("podman container restore --import: %v\n%s", err, o)
		}
		t.Logf("podman container restore --import of mycr's archive took %v", time.Since(start).Round(time.Millisecond))
		assertRunsUnderMycr(t, podmanRoot, p.must(t, "inspect", "-f", "{{.Id}}", "m1p"))
		assertContinues(t, "mycr's checkpoint restored by podman", last, p.logsOf("m1p"))
		p.must(t, "rm", "-f", "-t", "1", "m1p")
	})

	t.Run("PodmanToMycr", func(t *testing.T) {
		p.runCounter(t, "p1m")
		waitCount(t, "p1m", 5, p.logsOf("p1m"))
		archive := filepath.Join(p.dir, "p1m-podman.tar.gz")
		p.must(t, "container", "checkpoint", "--export", archive, "p1m")
		last := parseCounter(p.must(t, "logs", "p1m")).last()
		bundle := busyboxBundle(t, filepath.Join(base, "interop-bundle-2"))
		t.Cleanup(func() { _, _ = runCmd(30*time.Second, nil, mycrBin, "--root", root, "delete", "-f", "p1m") })
		out := runWithPipe(t, "--root", root, "restore", "-d", "--import", archive, "--unverified", "--bundle", bundle, "p1m")
		assertRunsUnderMycr(t, root, "p1m")
		assertContinues(t, "Podman's (mycr's) checkpoint restored by mycr", last, out)
	})
}

// counterBundle writes a bundle under dir that runs counterScript (mycr spec,
// no terminal) on the busybox image's files.
func counterBundle(t *testing.T, dir string) string {
	t.Helper()
	busyboxBundle(t, dir)
	if out, err := runCmd(20*time.Second, nil, mycrBin, "spec", "--bundle", dir); err != nil {
		t.Fatalf("mycr spec: %v\n%s", err, out)
	}
	path := filepath.Join(dir, "config.json")
	var s map[string]any
	data, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(data, &s)
	}
	if err != nil {
		t.Fatal(err)
	}
	proc := s["process"].(map[string]any)
	proc["terminal"] = false
	proc["args"] = []string{"sh", "-c", counterScript}
	if data, err = json.MarshalIndent(s, "", "  "); err == nil {
		err = os.WriteFile(path, data, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dir
}
