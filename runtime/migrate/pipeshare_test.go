package migrate

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPipeShareLastPutsBack: two overlapping migrations (two opens of the lock
// files behave as two processes for flock) share the raised value; only the
// last one out puts the original back, whatever the order.
func TestPipeShareLastPutsBack(t *testing.T) {
	for _, firstOut := range []int{0, 1} {
		dir := t.TempDir()
		p := pipeShare{sysctl: filepath.Join(dir, "pipe-max-size"), dir: filepath.Join(dir, "share")}
		if err := writeIntFile(p.sysctl, 1<<20); err != nil {
			t.Fatal(err)
		}
		undoA, noteA, err := p.raise(4 << 20)
		if err != nil || noteA == "" {
			t.Fatalf("first raise: %v %q", err, noteA)
		}
		undoB, noteB, err := p.raise(4 << 20)
		if err != nil || noteB != "" {
			t.Fatalf("second raise (already raised): %v %q", err, noteB)
		}
		undos := []func(){undoA, undoB}
		undos[firstOut]()
		if v, _ := readIntFile(p.sysctl); v != 4<<20 {
			t.Fatalf("after the first undo (%d) the other migration lost its pipe size: %d", firstOut, v)
		}
		undos[1-firstOut]()
		undos[1-firstOut]() // twice: harmless
		if v, _ := readIntFile(p.sysctl); v != 1<<20 {
			t.Fatalf("after the last undo: %d, want the original %d", v, 1<<20)
		}
	}
}

// TestPipeShareBigEnough: a sysctl that is big enough by itself is left alone.
func TestPipeShareBigEnough(t *testing.T) {
	dir := t.TempDir()
	p := pipeShare{sysctl: filepath.Join(dir, "pipe-max-size"), dir: filepath.Join(dir, "share")}
	if err := writeIntFile(p.sysctl, 8<<20); err != nil {
		t.Fatal(err)
	}
	undo, note, err := p.raise(4 << 20)
	if err != nil || note != "" {
		t.Fatalf("%v %q", err, note)
	}
	undo()
	if v, _ := readIntFile(p.sysctl); v != 8<<20 {
		t.Fatalf("changed to %d", v)
	}
}

// TestPipeShareKilledHolder: a holder killed with -9 (its lock went with its
// process) left the sysctl raised and the original saved: the next migration
// keeps that original, not the raised value, and puts it back.
func TestPipeShareKilledHolder(t *testing.T) {
	dir := t.TempDir()
	p := pipeShare{sysctl: filepath.Join(dir, "pipe-max-size"), dir: filepath.Join(dir, "share")}
	for path, v := range map[string]int{p.sysctl: 4 << 20, filepath.Join(p.dir, "orig"): 1 << 20} {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := writeIntFile(path, v); err != nil {
			t.Fatal(err)
		}
	}
	undo, _, err := p.raise(4 << 20)
	if err != nil {
		t.Fatal(err)
	}
	undo()
	if v, _ := readIntFile(p.sysctl); v != 1<<20 {
		t.Fatalf("after the undo: %d, want the original %d", v, 1<<20)
	}
}
