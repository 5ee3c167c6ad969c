package criu

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadMeta: corrupt metadata gives an error, never a panic.
func FuzzReadMeta(f *testing.F) {
	f.Add([]byte(`{"format":1,"id":"a"}`))
	f.Add([]byte(`{"format":99}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, MetaName), data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, _ = ReadMeta(dir)
	})
}
