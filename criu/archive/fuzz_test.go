package archive

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzExtract: no archive, however malformed, panics the reader or writes
// outside the extraction dir.
func FuzzExtract(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x1f, 0x8b, 0, 0})
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		base := t.TempDir()
		dir := filepath.Join(base, "x")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		_, _ = Extract(bytes.NewReader(data), dir, ExtractOptions{MaxSize: 1 << 20})
		entries, _ := os.ReadDir(base)
		if len(entries) != 1 {
			t.Fatalf("extraction wrote next to its dir: %v", entries)
		}
	})
}
