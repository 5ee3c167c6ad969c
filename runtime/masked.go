package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/sys/mountinfo"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/sirupsen/logrus"

	"github.com/mycr/mycr/criu"
)

// maskedDirMounts lists the mounts a dump can leave out (criu.MaskedKey): the
// spec's masked directories that are, in the running container, still what
// libcontainer made of them: one read-only tmpfs, empty, nothing mounted on or
// below it. Anything else is dumped by CRIU as usual.
func maskedDirMounts(cfg *configs.Config, pid int) []string {
	if len(cfg.MaskPaths) == 0 || criu.EnsureMaskedSource() != nil {
		return nil // without the restore-side source, keep images restorable
	}
	mounts, err := processMounts(pid)
	if err != nil {
		return nil
	}
	var dirs []string
	for _, path := range cfg.MaskPaths {
		if maskedTmpfsLeftAlone(mounts, filepath.Clean(path), pid) {
			dirs = append(dirs, filepath.Clean(path))
		}
	}
	return dirs
}

func maskedTmpfsLeftAlone(mounts []*mountinfo.Info, path string, pid int) bool {
	var on []*mountinfo.Info
	for _, m := range mounts {
		switch {
		case m.Mountpoint == path:
			on = append(on, m)
		case strings.HasPrefix(m.Mountpoint, path+"/"):
			return false // something mounted below it
		}
	}
	if len(on) != 1 || on[0].FSType != "tmpfs" || on[0].Root != "/" ||
		!slices.Contains(strings.Split(on[0].Options, ","), "ro") {
		return false
	}
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/root%s", pid, path))
	if err != nil || len(entries) > 0 {
		logrus.Debugf("masked %s is not an empty tmpfs (%v): CRIU archives it", path, err)
		return false
	}
	return true
}

// restoreMasked maps the masked dirs a checkpoint left out to criu.MaskedSource.
// The mapping is passed even when the metadata is gone (a copy of the *.img
// files only): CRIU ignores it for images that do not use it.
func restoreMasked(cp *Checkpoint) ([]string, error) {
	err := criu.EnsureMaskedSource()
	if err == nil {
		return []string{criu.MaskedRestoreExternal()}, nil
	}
	if m := cp.Meta; m != nil && len(m.MaskedDirs) > 0 {
		return nil, fmt.Errorf("the checkpoint left out the masking mounts of %s, and restoring them needs %w", strings.Join(m.MaskedDirs, ", "), err)
	}
	return nil, nil
}
