package migrate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mycr/mycr/criu"
)

// makeDirs creates the image directories: given ones must be empty.
func (m *migration) makeDirs() error {
	var err error
	if m.o.ImagePath == "" || m.o.TargetImagePath == "" {
		if m.tempBase, err = os.MkdirTemp("", "mycr-migrate-"+m.o.ID+"-"); err != nil {
			return err
		}
	}
	if m.srcDir, err = imageDir(m.tempBase, m.o.ImagePath, "source"); err == nil {
		m.dstDir, err = imageDir(m.tempBase, m.o.TargetImagePath, "target")
	}
	if err == nil && m.srcDir == m.dstDir {
		err = errors.New("--image-path and --target-image-path must differ: the target gets a copy")
	}
	for _, d := range []string{m.srcDir, m.dstDir} {
		if err == nil {
			err = criu.PrepareImageDir(d)
		}
	}
	if err != nil {
		m.removeTemp()
	}
	return err
}

// imageDir is the given image dir, absolute and empty, or name under tempBase.
func imageDir(tempBase, given, name string) (string, error) {
	if given == "" {
		return filepath.Join(tempBase, name), nil
	}
	abs, err := filepath.Abs(given)
	if err != nil {
		return "", err
	}
	if ents, err := os.ReadDir(abs); err == nil && len(ents) > 0 {
		return "", fmt.Errorf("image path %s is not empty: migrate needs an empty or new directory", abs)
	}
	return abs, nil
}

// resetSourceDir empties the source image dir for another attempt, keeping the
// failed attempt's log as dump-failed.log.
func (m *migration) resetSourceDir() error {
	_ = os.Rename(filepath.Join(m.srcDir, "dump.log"), filepath.Join(m.srcDir, "dump-failed.log"))
	for _, d := range []string{m.srcDir, m.dstDir} {
		ents, err := os.ReadDir(d)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if e.Name() != "dump-failed.log" {
				if err := os.RemoveAll(filepath.Join(d, e.Name())); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// removeTemp removes the default image dirs (not given ones).
func (m *migration) removeTemp() {
	if m.tempBase != "" {
		os.RemoveAll(m.tempBase)
		m.tempBase = "" // gone: nothing to keep or name
	}
}

// keepDirsOnFailure leaves the image dirs (and CRIU's logs in them) for a look.
func (m *migration) keepDirsOnFailure() {
	if m.tempBase != "" {
		m.notify("images and CRIU logs of the failed migration are kept in %s", m.tempBase)
	}
}
