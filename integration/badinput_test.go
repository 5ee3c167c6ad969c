package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// expectMentions fails unless stderr (case-insensitive) holds one of words.
func expectMentions(t *testing.T, r Result, what string, words ...string) {
	t.Helper()
	low := strings.ToLower(r.Stderr)
	for _, w := range words {
		if strings.Contains(low, strings.ToLower(w)) {
			return
		}
	}
	t.Errorf("%s: the error should mention one of %q\n%s", what, words, r)
}

// TestBadIDs: ids with '/', "..", or empty are refused before anything touches
// disk, by every command that would create a container.
func TestBadIDs(t *testing.T) {
	e := NewEnv(t)
	bundle := e.NewBundle()
	emptyImg := e.Mkdir("img")
	for _, id := range []string{"a/b", "..", "", "../x", "."} {
		for _, args := range [][]string{
			{"create", "--bundle", bundle, id},
			{"run", "-d", "--bundle", bundle, id},
			{"restore", "-d", "--bundle", bundle, "--image-path", emptyImg, id},
		} {
			r := e.MustFail(args...)
			if id == "" {
				expectMentions(t, r, "empty id", "empty", "invalid", "required", "missing")
			} else {
				expectMentions(t, r, "bad id "+id, "invalid", id)
			}
			e.ExpectNoState("after " + strings.Join(quoteArgs(args), " "))
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(e.Root), "x")); err == nil {
		t.Errorf("id ../x created %s", filepath.Join(filepath.Dir(e.Root), "x"))
	}
	if ents, _ := os.ReadDir(emptyImg); len(ents) != 0 {
		t.Errorf("restore with a bad id touched the image dir: %v", ents)
	}

	// Commands on existing containers must not follow a bad id out of --root:
	// `delete --force ..` must not remove anything. Sentinels sit where ".", "..",
	// "../x" and "a/b" would lead (all inside this test's own temp dir).
	parent := filepath.Dir(e.Root)
	sentinels := []string{
		filepath.Join(e.Root, "sentinel"),
		filepath.Join(e.Root, "a", "b", "sentinel"),
		filepath.Join(parent, "x", "sentinel"),
		filepath.Join(parent, "sentinel"),
	}
	for _, f := range sentinels {
		os.MkdirAll(filepath.Dir(f), 0o755)
		if err := os.WriteFile(f, []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"a/b", "..", "../x", "."} {
		for _, args := range [][]string{
			{"state", id},
			{"delete", "--force", id},
			{"kill", id, "KILL"},
			{"checkpoint", "--image-path", e.Mkdir("img"), id},
		} {
			r := e.Run(args...)
			if r.Code == 0 {
				t.Errorf("%v succeeded with a bad id:\n%s", args, r)
			}
		}
	}
	for _, f := range sentinels {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("a command with a bad id removed %s: %v", f, err)
		}
	}
	os.RemoveAll(filepath.Join(e.Root, "a"))
	os.Remove(filepath.Join(e.Root, "sentinel"))
}

func TestMissingBundle(t *testing.T) {
	e := NewEnv(t)
	missing := filepath.Join(e.Dir, "no-such-bundle")
	id := e.ID("nobundle")
	for _, cmd := range []string{"create", "run"} {
		r := e.MustFail(cmd, "--bundle", missing, id)
		expectMentions(t, r, cmd+" with a missing bundle", missing)
		e.ExpectNoState(cmd + " with a missing bundle")
	}
	// A bundle dir without config.json.
	empty := e.Mkdir("bundle")
	r := e.MustFail("create", "--bundle", empty, id)
	expectMentions(t, r, "bundle without config.json", "config.json")
	e.ExpectNoState("bundle without config.json")
}

func TestMalformedConfig(t *testing.T) {
	e := NewEnv(t)
	bundle := e.NewBundle()
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), []byte(`{"ociVersion": "1.0.2", "process": {`), 0o644); err != nil {
		t.Fatal(err)
	}
	id := e.ID("badcfg")
	r := e.MustFail("create", "--bundle", bundle, id)
	expectMentions(t, r, "malformed config.json", "config.json", "json")
	e.ExpectNoState("malformed config.json")

	// Well-formed JSON that is not a usable spec: no process args.
	bundle2 := e.NewBundle(Args())
	r = e.MustFail("run", "--bundle", bundle2, id)
	expectMentions(t, r, "config.json without process.args", "args")
	e.ExpectNoState("config.json without process.args")
}

// TestBadImageDir: an image path that is a file, and restores from an empty or
// nonexistent image dir, fail clearly and leave nothing behind.
func TestBadImageDir(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	c := e.StartCounter("img")
	file := filepath.Join(e.Dir, "a-file")
	if err := os.WriteFile(file, []byte("not a dir"), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("checkpoint-to-file", func(t *testing.T) {
		r := e.MustFail("checkpoint", "--image-path", file, c.ID)
		expectMentions(t, r, "checkpoint to a file", file, "not a directory")
		e.ExpectRunningNotPaused(c.ID, c.Pid)
		WaitCounterAbove(t, c.Count, MustCounter(t, c.Count)+2, 5*time.Second)
		if b, _ := os.ReadFile(file); string(b) != "not a dir" {
			t.Errorf("the file given as image path was changed: %q", b)
		}
	})

	e.MustRun("delete", "--force", c.ID)
	e.ExpectNoState("after delete")
	id := e.ID("restored")

	t.Run("restore-from-file", func(t *testing.T) {
		r := e.MustFail("restore", "-d", "--bundle", c.Bundle, "--image-path", file, id)
		expectMentions(t, r, "restore from a file", file, "not a directory")
		e.ExpectNoState("restore from a file")
	})
	t.Run("restore-from-missing-dir", func(t *testing.T) {
		missing := filepath.Join(e.Dir, "no-such-image")
		r := e.MustFail("restore", "-d", "--bundle", c.Bundle, "--image-path", missing, id)
		expectMentions(t, r, "restore from a missing dir", missing, "does not exist", "no such")
		e.ExpectNoState("restore from a missing dir")
	})
	t.Run("restore-from-empty-dir", func(t *testing.T) {
		empty := e.Mkdir("empty-image")
		r := e.MustFail("restore", "-d", "--bundle", c.Bundle, "--image-path", empty, id)
		expectMentions(t, r, "restore from an empty dir", empty, "image", "checkpoint")
		e.ExpectNoState("restore from an empty dir")
	})
}

// TestLongIDs: an ID too long for the file names mycr makes of it is refused
// up front, naming the limit (it failed half-way with "file name too long");
// an ID of the limit's length runs, checkpoints and restores.
func TestLongIDs(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	bundle := e.NewBundle()
	long := strings.Repeat("x", 300)
	for _, args := range [][]string{
		{"create", "--bundle", bundle, long},
		{"run", "-d", "--bundle", bundle, long},
		{"restore", "-d", "--bundle", bundle, "--image-path", e.Mkdir("img"), long},
	} {
		r := e.MustFail(args...)
		if !strings.Contains(r.Stderr, "at most 200 characters") || strings.Contains(r.Stderr, "too long") {
			t.Errorf("a 300-character id: the error should name the limit of 200 characters\n%s", r)
		}
		e.ExpectNoState("after " + args[0] + " with a 300-character id")
	}

	c := e.StartCounter(strings.Repeat("y", 200-len(e.ID(""))))
	if len(c.ID) != 200 {
		t.Fatalf("the test made a %d-character id", len(c.ID))
	}
	img := filepath.Join(e.Dir, "image")
	e.Checkpoint(c.ID, img)
	before := MustCounter(t, c.Count)
	e.RestoreDetached(c.ID, c.Bundle, img)
	WaitCounterAbove(t, c.Count, before+2, 10*time.Second)
}
