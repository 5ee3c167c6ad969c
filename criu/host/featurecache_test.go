package host

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeCriu writes a criu that counts its runs in dir/runs and answers
// `check --feature` with exit code rc.
func fakeCriu(t *testing.T, dir string, rc int) string {
	t.Helper()
	bin := filepath.Join(dir, "criu")
	script := "#!/bin/sh\necho run >> " + filepath.Join(dir, "runs") + "\necho \"uffd-noncoop answer\"\nexit " + string(rune('0'+rc)) + "\n"
	if err := os.WriteFile(bin, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return bin
}

func runs(t *testing.T, dir string) int {
	b, _ := os.ReadFile(filepath.Join(dir, "runs"))
	return strings.Count(string(b), "run")
}

// TestHasInRemembersYes: a yes is asked once per binary, kernel and boot,
// then read from the state dir (a new process would not run criu again).
func TestHasInRemembersYes(t *testing.T) {
	unsetEnv(t, EnvFault)
	dir, state := t.TempDir(), t.TempDir()
	bin := fakeCriu(t, dir, 0)
	if ok, detail := HasIn(state, bin, Uffd); !ok || detail != "uffd-noncoop answer" {
		t.Fatalf("HasIn = %v %q, want yes", ok, detail)
	}
	hostAnswers.Delete(bin + "\x00" + Uffd) // as a new process
	if ok, _ := HasIn(state, bin, Uffd); !ok {
		t.Fatal("HasIn from the cache = no")
	}
	if n := runs(t, dir); n != 1 {
		t.Fatalf("criu ran %d times, want 1", n)
	}
	if fi, err := os.Stat(filepath.Join(state, featureCacheFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache file: %v %v", fi, err)
	}
	// A changed binary (reinstalled, upgraded) is asked again.
	hostAnswers.Delete(bin + "\x00" + Uffd)
	if err := os.WriteFile(bin, append(mustRead(t, bin), []byte("# changed\n")...), 0o700); err != nil {
		t.Fatal(err)
	}
	HasIn(state, bin, Uffd)
	if n := runs(t, dir); n != 2 {
		t.Fatalf("criu ran %d times after it changed, want 2", n)
	}
}

// TestHasInAsksNoAgain: a no is not kept.
func TestHasInAsksNoAgain(t *testing.T) {
	unsetEnv(t, EnvFault)
	dir, state := t.TempDir(), t.TempDir()
	bin := fakeCriu(t, dir, 1)
	if ok, _ := HasIn(state, bin, Uffd); ok {
		t.Fatal("HasIn = yes from a failing criu check")
	}
	if _, err := os.Stat(filepath.Join(state, featureCacheFile)); err == nil {
		t.Fatal("a no was written to the cache")
	}
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
