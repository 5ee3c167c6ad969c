// Package atomicfile replaces files so that a concurrent reader sees the old
// content or the new one, never half of either.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces path with data (mode perm) through a temporary file in the
// same directory and a rename. The data is not synced to disk: mycr's files
// (pid files, caches, intents, CRIU configs) mean nothing after a crash, and a
// sync costs a journal commit on every call. The directory must exist.
func Write(path string, data []byte, perm os.FileMode) error {
	// Per-process name: two mycr writing the same file must not share a temp.
	tmp := filepath.Join(filepath.Dir(path), fmt.Sprintf(".%s.%d.tmp", filepath.Base(path), os.Getpid()))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
