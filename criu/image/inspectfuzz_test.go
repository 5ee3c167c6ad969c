package image

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// FuzzInspect: the fixture checkpoint with one of its files replaced by the
// fuzzer's bytes gives a result or an error from Inspect, Search and Diff,
// never a panic: not even one that Inspect would recover (crit's decoder is
// only handed files whose framing was checked).
func FuzzInspect(f *testing.F) {
	files := fixtureFiles(f)
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	base := f.TempDir()
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(base, n), files[n], 0o600); err != nil {
			f.Fatal(err)
		}
	}
	for i, n := range names {
		f.Add(uint8(i), files[n])
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		dir := t.TempDir()
		victim := names[int(which)%len(names)]
		for _, n := range names {
			if n != victim {
				if err := os.Symlink(filepath.Join(base, n), filepath.Join(dir, n)); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := os.WriteFile(filepath.Join(dir, victim), data, 0o600); err != nil {
			t.Fatal(err)
		}
		in, err := Inspect(dir, allSections)
		noPanic(t, victim, err)
		if err == nil {
			Diff(in, in)
		}
		_, err = Search(dir, "SECRET", 8)
		noPanic(t, victim, err)
	})
}

// FuzzReadStats: a corrupt stats-dump or stats-restore is an error, never a panic.
func FuzzReadStats(f *testing.F) {
	files := fixtureFiles(f)
	f.Add(files["stats-dump"])
	f.Add([]byte{})
	f.Add(files["stats-dump"][:8])
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		for _, name := range []string{"stats-dump", "stats-restore"} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		_, err := ReadDumpStats("x", dir, dir, time.Second)
		noPanic(t, "stats-dump", err)
		_, err = ReadRestoreStats("x", dir, dir, time.Second)
		noPanic(t, "stats-restore", err)
	})
}

func noPanic(t *testing.T, file string, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), "are corrupt (reading") {
		t.Fatalf("decoding a corrupt %s panicked: %v", file, err)
	}
}
