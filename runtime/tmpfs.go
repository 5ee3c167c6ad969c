package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/sys/mountinfo"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/mycr/mycr/criu"
	"github.com/mycr/mycr/criu/tmpfs"
)

// carriableTmpfs lists the container's tmpfs mounts whose files mycr can carry
// itself (criu/tmpfs) instead of CRIU's tar | gzip per mount (~15 ms each, at
// dump while frozen and at restore before the container runs): mounts the
// container has to itself, nothing over them, no propagation, and not the
// masking mounts (left out, masked.go). Anything else CRIU dumps as usual.
func carriableTmpfs(cfg *configs.Config, pid int, masked []string) []criu.CarriedTmpfs {
	if !cfg.Namespaces.Contains(configs.NEWNS) || cfg.Namespaces.Contains(configs.NEWUSER) {
		return nil // owners would need mapping; keep CRIU's way
	}
	mounts, err := processMounts(pid)
	if err != nil {
		return nil
	}
	return selectTmpfs(mounts, masked)
}

func selectTmpfs(mounts []*mountinfo.Info, masked []string) []criu.CarriedTmpfs {
	var out []criu.CarriedTmpfs
	for _, m := range mounts {
		if m.FSType != "tmpfs" || m.Root != "/" || m.Mountpoint == "/" || slices.Contains(masked, m.Mountpoint) ||
			m.Optional != "" || !onlyOne(mounts, m) || slices.Contains(strings.Split(m.VFSOptions, ","), "ro") {
			continue
		}
		out = append(out, criu.NewCarriedTmpfs(len(out), m.Mountpoint, m.Source, superData(m.VFSOptions), mountFlags(m.Options)))
	}
	return out
}

// onlyOne: m is the one mount at its mount point and of its tmpfs with the
// whole tree (binds of single files from it, as runc makes of /dev/null, may
// be elsewhere: CRIU binds them from the restored mount).
func onlyOne(mounts []*mountinfo.Info, m *mountinfo.Info) bool {
	for _, o := range mounts {
		if o != m && (o.Mountpoint == m.Mountpoint || (o.Major == m.Major && o.Minor == m.Minor && o.Root == "/")) {
			return false
		}
	}
	return true
}

// superData keeps a tmpfs's own options (size=, mode=, nr_inodes=, uid=).
func superData(vfs string) string {
	var keep []string
	for _, o := range strings.Split(vfs, ",") {
		if o != "rw" && o != "" {
			keep = append(keep, o)
		}
	}
	return strings.Join(keep, ",")
}

// mountFlags turns a mount's per-mount options (mountinfo's 6th field) into flags.
func mountFlags(opts string) uintptr {
	names := map[string]uintptr{"ro": unix.MS_RDONLY, "nosuid": unix.MS_NOSUID, "nodev": unix.MS_NODEV,
		"noexec": unix.MS_NOEXEC, "noatime": unix.MS_NOATIME, "nodiratime": unix.MS_NODIRATIME,
		"relatime": unix.MS_RELATIME, "sync": unix.MS_SYNCHRONOUS}
	var flags uintptr
	for _, o := range strings.Split(opts, ",") {
		flags |= names[o]
	}
	return flags
}

// captureTmpfs writes each carried mount's tar into the image dir, 0600: the
// container must be frozen.
func captureTmpfs(pid int, carried []criu.CarriedTmpfs, imageDir string) error {
	for _, t := range carried {
		if err := captureOne(pid, t, imageDir); err != nil {
			return fmt.Errorf("save the files of tmpfs %s: %w", t.Mountpoint, err)
		}
	}
	return nil
}

func captureOne(pid int, t criu.CarriedTmpfs, imageDir string) error {
	p, err := t.Path(imageDir)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = tmpfs.Capture(fmt.Sprintf("/proc/%d/root%s", pid, t.Mountpoint), f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// stageTmpfs mounts, under stateDir, a new tmpfs per carried mount of the
// checkpoint, filled from its tar, for CRIU to bind into the container; it
// returns CRIU's external mappings and the unmount that follows the restore
// (after a killed mycr, unmountUnder of the state dir does it).
func stageTmpfs(cp *Checkpoint, stateDir string) ([]string, func(), error) {
	if cp.Meta == nil || len(cp.Meta.Tmpfs) == 0 {
		return nil, func() {}, nil
	}
	base := filepath.Join(stateDir, "mycr-tmpfs")
	unstage := func() {
		if err := unmountUnder(base); err != nil {
			logrus.Warnf("restore: %v", err)
		}
		_ = os.RemoveAll(base)
	}
	var ext []string
	for i, t := range cp.Meta.Tmpfs {
		dir := filepath.Join(base, fmt.Sprint(i))
		if err := stageOne(t, cp.Dir, dir); err != nil {
			unstage()
			return nil, nil, fmt.Errorf("restore the files of tmpfs %s from %s: %w", t.Mountpoint, t.File, err)
		}
		ext = append(ext, t.RestoreExternal(dir))
	}
	return ext, unstage, nil
}

func stageOne(t criu.CarriedTmpfs, imageDir, dir string) error {
	p, err := t.Path(imageDir)
	if err != nil {
		return err
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := unix.Mount(t.Source, dir, "tmpfs", t.Flags&^unix.MS_RDONLY, t.Data); err != nil {
		return fmt.Errorf("mount tmpfs %q: %w", t.Data, err)
	}
	if err := unix.Mount("", dir, "", unix.MS_PRIVATE, ""); err != nil {
		return err
	}
	if err := tmpfs.Extract(f, dir); err != nil {
		return err
	}
	if t.Flags&unix.MS_RDONLY != 0 {
		return unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_BIND|t.Flags, "")
	}
	return nil
}

// carryTmpfs saves the carriable tmpfs mounts of a frozen container into the
// image dir, records them in its metadata and has the dump take them as
// external; a container that is not frozen (its freeze failed) has CRIU
// archive them as usual, under its own freeze.
func (r *Root) carryTmpfs(c *libcontainer.Container, pid int, carriable []criu.CarriedTmpfs, meta *criu.Meta, rc criu.RunConfig, imageDir string) error {
	meta.Tmpfs, meta.Format = nil, criu.MetaFormatFirst
	rc.Externals = slices.Clone(rc.Externals) // a retry starts from the same list
	if status, err := c.Status(); err == nil && status == libcontainer.Paused && len(carriable) > 0 {
		if err := captureTmpfs(pid, carriable, imageDir); err != nil {
			return err
		}
		meta.Tmpfs, meta.Format = carriable, criu.MetaFormatTmpfs
		for _, t := range carriable {
			rc.Externals = append(rc.Externals, t.DumpExternal())
		}
	}
	r.Criu.UseConfig(r.Dir, rc)
	return criu.WriteMeta(imageDir, meta)
}

// checkTmpfsFiles refuses, before anything is created, images whose carried
// tmpfs tars are missing (a copy of the *.img files only).
func checkTmpfsFiles(cp *Checkpoint) error {
	if cp.Meta == nil {
		return nil
	}
	for _, t := range cp.Meta.Tmpfs {
		p, err := t.Path(cp.Dir)
		if err == nil {
			_, err = os.Stat(p)
		}
		if err != nil {
			return fmt.Errorf("the checkpoint in %s is incomplete: the files of its tmpfs %s (%s) are missing: copy the whole image directory: %w", cp.Dir, t.Mountpoint, t.File, err)
		}
	}
	return nil
}
