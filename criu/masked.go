package criu

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/mycr/mycr/criu/host"
)

// MaskedKey is the external-mount key under which a checkpoint leaves out the
// read-only empty tmpfs mounts that mask directories of the container (the
// spec's maskedPaths, such as /proc/acpi and /sys/firmware). CRIU would archive
// each with tar | gzip at dump and untar it at restore (~3.5 ms per mount, two
// of an idle busybox's five); at restore, MaskedSource stands in for them.
const MaskedKey = "mycr-masked-dir"

// MaskedSource is an empty read-only tmpfs on the host, mounted once per boot,
// that a restore binds where the checkpoint had a masking tmpfs.
const MaskedSource = "/run/mycr-masked"

// EnsureMaskedSource mounts MaskedSource if it is not there yet.
func EnsureMaskedSource() error {
	if emptyReadOnlyTmpfs(MaskedSource) {
		return nil
	}
	if err := os.Mkdir(MaskedSource, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	if err := host.MountTmpfsOnce(MaskedSource, "mycr-masked", unix.MS_RDONLY, "size=4k,nr_inodes=1", emptyReadOnlyTmpfs); err != nil {
		return fmt.Errorf("mount the empty read-only tmpfs %s: %w", MaskedSource, err)
	}
	return nil
}

func emptyReadOnlyTmpfs(dir string) bool {
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil || st.Type != unix.TMPFS_MAGIC || st.Flags&unix.ST_RDONLY == 0 {
		return false
	}
	entries, err := os.ReadDir(dir)
	return err == nil && len(entries) == 0
}

// MaskedExternals make a dump leave out the masking mounts at the given
// mount points (RunConfig.Externals).
func MaskedExternals(mountpoints []string) []string {
	ext := make([]string, 0, len(mountpoints))
	for _, mp := range mountpoints {
		ext = append(ext, fmt.Sprintf("mnt[%s]:%s", mp, MaskedKey))
	}
	return ext
}

// MaskedRestoreExternal maps MaskedKey to MaskedSource at restore; harmless
// for images without masked externals (CRIU ignores unused mappings).
func MaskedRestoreExternal() string {
	return fmt.Sprintf("mnt[%s]:%s", MaskedKey, MaskedSource)
}
