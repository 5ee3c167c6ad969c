package image

import (
	"path/filepath"

	"github.com/checkpoint-restore/go-criu/v7/crit/images/mnt"
	"golang.org/x/sys/unix"
)

// RootReadOnly reports whether a dumped mount namespace has a read-only root
// (the spec's root.readonly at checkpoint time; editing config.json later does
// not change it: CRIU restores the mount flags of the image). CRIU then needs
// a directory "tmp" in the root to restore it: it pivots the root there, and
// cannot mkdtemp one in a read-only root.
func RootReadOnly(dir string) (bool, error) {
	files, err := filepath.Glob(filepath.Join(dir, "mountpoints-*.img"))
	if err != nil {
		return false, err
	}
	im := newImages(dir)
	for _, path := range files {
		entries, err := decodeAll(im, filepath.Base(path), &mnt.MntEntry{})
		if err != nil {
			return false, err
		}
		for _, m := range entries {
			if m.GetMountpoint() == "/" && (m.GetFlags()|m.GetSbFlags())&unix.MS_RDONLY != 0 {
				return true, nil
			}
		}
	}
	return false, nil
}
