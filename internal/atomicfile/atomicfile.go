// Package atomicfile replaces files so that a concurrent reader sees the old
// content or the new one, never half of either.
package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Write replaces path with data (mode perm) through a temporary file in the
// same directory and a rename. The data is not synced to disk: mycr's files
// (pid files, caches, intents, CRIU configs) mean nothing after a crash, and a
// sync costs a journal commit on every call. The directory must exist.
func Write(path string, data []byte, perm os.FileMode) error {
	return WriteFunc(path, perm, false, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// WriteFunc is Write with the content written by fill, synced to disk before
// the rename when sync is set: a file that must survive a crash (part of a
// checkpoint's images) must not be renamed into place before its data is on disk.
func WriteFunc(path string, perm os.FileMode, sync bool, fill func(*os.File) error) error {
	tmp := tempName(path, os.Getpid())
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	err = fill(f)
	if err == nil && sync {
		err = f.Sync()
	}
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

// tempName is per process: two mycr writing the same file must not share a temp.
func tempName(path string, pid int) string {
	return filepath.Join(filepath.Dir(path), fmt.Sprintf(".%s.%d.tmp", filepath.Base(path), pid))
}

// RemoveStale removes the temporary files of path that processes killed
// before their rename left behind (those of running processes stay).
func RemoveStale(path string) {
	prefix := "." + filepath.Base(path) + "."
	ents, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSuffix(rest, ".tmp"))
		if err != nil || !strings.HasSuffix(rest, ".tmp") || pid <= 0 {
			continue
		}
		if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			os.Remove(filepath.Join(filepath.Dir(path), e.Name()))
		}
	}
}
