package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestInspectCorruptImages: a real checkpoint with one image truncated or
// overwritten at a time; every inspect and search either works or fails with
// a message naming the file, never with a Go panic (exit status 2). A
// truncated archive fails cleanly and leaves no extracted images behind.
func TestInspectCorruptImages(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	c := e.StartCounter("corrupt")
	img := filepath.Join(e.Dir, "image")
	e.Checkpoint(c.ID, img, "--leave-running")
	archive := filepath.Join(e.Dir, "ck.tar.zst")
	e.MustRun("checkpoint", "--leave-running", "--export", archive, c.ID)

	var victims []string
	for _, pattern := range []string{"inventory.img", "pstree.img", "core-1.img", "ids-1.img", "files.img", "fdinfo-*.img",
		"fs-1.img", "mm-1.img", "pagemap-1.img", "pages-*.img", "mountpoints-*.img", "mycr-checkpoint.json"} {
		m, _ := filepath.Glob(filepath.Join(img, pattern))
		if len(m) == 0 {
			t.Fatalf("the checkpoint has no %s", pattern)
		}
		victims = append(victims, filepath.Base(m[0]))
	}
	outcomes := map[string]int{}
	for _, name := range victims {
		for _, damage := range []string{"truncated", "garbage"} {
			bad := filepath.Join(e.Dir, "bad-"+damage+"-"+name)
			if out, err := exec.Command("cp", "-a", img, bad).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v %s", err, out)
			}
			damageFile(t, filepath.Join(bad, name), damage)
			for _, args := range [][]string{{"inspect", "--ps", "--files", "--sockets", "--mounts", "--mem", "--env", bad},
				{"inspect", "--search", "count", bad}} {
				r := e.Run(args...)
				outcomes[map[bool]string{true: "inspect worked", false: "inspect failed"}[r.Code == 0]]++
				switch {
				case r.Code == 0:
				case r.Code != 1 || strings.Contains(r.Stderr, "panic") || strings.Contains(r.Stderr, "goroutine "):
					t.Errorf("%s %s: not a clean failure:\n%s", damage, name, r)
				case !strings.Contains(r.Stderr, bad) || (strings.HasSuffix(name, ".img") && name != "inventory.img" &&
					!strings.Contains(r.Stderr, strings.SplitN(name, "-", 2)[0])):
					t.Errorf("%s %s: the error names neither the dir nor the file:\n%s", damage, name, r)
				}
			}
		}
	}

	// An archive is extracted into a private temp dir, gone afterwards; a
	// truncated one gives a clear error, and its temp dir is gone too.
	tmp := e.Mkdir("tmp")
	if r := e.RunWithEnv(t, []string{"TMPDIR=" + tmp}, "inspect", "--ps", archive); r.Code != 0 || !strings.Contains(r.Stdout, "sh -c") {
		t.Errorf("inspect of the archive:\n%s", r)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("inspect of an archive left %v in TMPDIR", left)
	}
	st, err := os.Stat(archive)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(archive, st.Size()/2); err != nil {
		t.Fatal(err)
	}
	r := e.RunWithEnv(t, []string{"TMPDIR=" + tmp}, "inspect", archive)
	if r.Code != 1 || !strings.Contains(r.Stderr, archive) || strings.Contains(r.Stderr, "panic") {
		t.Errorf("truncated archive: want a clean failure naming it:\n%s", r)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("inspect of a bad archive left %v in TMPDIR", left)
	}
	logResult(t, reliabilityResult{Fault: fmt.Sprintf("inspect and inspect --search of a checkpoint with one of %d image files truncated or overwritten", len(victims)),
		Trials: 4 * len(victims), Outcomes: outcomes, Note: "a failure is exit 1 naming the dir and file, never a panic; a truncated archive fails cleanly and leaves nothing in TMPDIR"})
	e.MustFail("inspect", filepath.Join(e.Dir, "no-such-dir"))
	if r := e.MustFail("inspect", e.Mkdir("empty")); !strings.Contains(r.Stderr, "no CRIU checkpoint") {
		t.Errorf("an empty dir: %s", r)
	}
}

// damageFile truncates a file to half its size, or overwrites its middle with garbage.
func damageFile(t *testing.T, path, how string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if how == "truncated" {
		data = data[:len(data)/2]
	} else {
		for i := len(data) / 3; i < len(data)/3+64 && i < len(data); i++ {
			data[i] = byte(0xa5 ^ i)
		}
		if len(data) < 12 {
			data = append(data, 0xff, 0xff, 0xff, 0x7f)
		}
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
