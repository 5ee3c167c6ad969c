package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/mycr/mycr/criu/archive"
	"github.com/mycr/mycr/criu/archive/oci"
	"github.com/mycr/mycr/spec"
)

// unpackImport extracts and verifies an archive, then points the restore at its
// images and at a bundle: --bundle (its config.json, or the archive's spec.dump
// when it has none), else the checkpointed container's bundle if it exists here.
// The rootfs changes in the archive are applied to that bundle's rootfs.
func (r *Root) unpackImport(o *RestoreOpts) (cp *Checkpoint, cleanup func(), err error) {
	tmp, err := r.tempDir("import-" + o.Create.ID)
	if err != nil {
		return nil, func() {}, err
	}
	cleanup = func() { os.RemoveAll(tmp) }
	xo := archive.ExtractOptions{Key: o.ImportKey, Unverified: o.ImportUnverified}
	if err := extractImport(o.Import, tmp, xo); err != nil {
		return nil, cleanup, fmt.Errorf("import %s: %w", o.Import, err)
	}
	cp = OpenCheckpoint(filepath.Join(tmp, archive.ArchiveImagesDir))
	o.Criu.ImagesDirectory = cp.Dir
	// A diff that would be refused is refused before the bundle gets a config.json.
	diff := filepath.Join(tmp, archive.ArchiveRootfsDiff)
	if err := checkRootfsDiff(diff); err != nil {
		return nil, cleanup, fmt.Errorf("import %s: %w; the bundle was not changed", o.Import, err)
	}
	deleted, err := readDeletedFiles(filepath.Join(tmp, archive.ArchiveDeleted))
	if err != nil {
		return nil, cleanup, fmt.Errorf("import %s: %w; the bundle was not changed", o.Import, err)
	}
	bundle, err := importBundle(o.Create.Bundle, tmp, cp)
	if err != nil {
		return nil, cleanup, err
	}
	abs, s, err := LoadBundle(bundle)
	if err != nil {
		return nil, cleanup, err
	}
	o.Create.Bundle, o.Create.Spec = abs, s
	rootfs := s.Root.Path
	if !filepath.IsAbs(rootfs) {
		rootfs = filepath.Join(abs, rootfs)
	}
	if f, err := os.Open(diff); err == nil {
		defer f.Close()
		if err := archive.ApplyRootfsDiff(f, rootfs); err != nil {
			return nil, cleanup, fmt.Errorf("apply the archive's rootfs changes to %s: %w", rootfs, err)
		}
	}
	if err := archive.RemoveDeletedFiles(rootfs, deleted); err != nil {
		return nil, cleanup, fmt.Errorf("apply the archive's rootfs changes to %s: %w", rootfs, err)
	}
	return cp, cleanup, nil
}

// extractImport extracts a file ("-": stdin) or, for oci:REF, the layer of a
// checkpoint image pulled from its registry.
func extractImport(src, dir string, xo archive.ExtractOptions) error {
	if !strings.HasPrefix(src, oci.Prefix) {
		_, err := archive.ExtractArchive(src, dir, xo)
		return err
	}
	_, err := oci.Extract(src, dir, xo)
	return err
}

// checkRootfsDiff checks the archive's rootfs diff, if it has one.
func checkRootfsDiff(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	return archive.CheckRootfsDiff(f)
}

// readDeletedFiles reads Podman's list of files deleted from the rootfs, if
// the archive has one.
func readDeletedFiles(path string) ([]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return archive.ReadDeletedFiles(f)
}

// importBundle picks the bundle directory for an imported checkpoint (cp,
// unpacked with the rest of the archive into unpacked).
func importBundle(flag, unpacked string, cp *Checkpoint) (string, error) {
	if flag != "" {
		if _, err := os.Stat(filepath.Join(flag, spec.ConfigName)); errors.Is(err, os.ErrNotExist) {
			if err := configFromSpecDump(flag, unpacked); err != nil {
				return "", err
			}
		}
		return flag, nil
	}
	if m := cp.Meta; m != nil && m.Bundle != "" {
		if _, err := os.Stat(filepath.Join(m.Bundle, spec.ConfigName)); err == nil {
			return m.Bundle, nil
		}
		return "", fmt.Errorf("the checkpoint's bundle %s does not exist on this host: pass --bundle DIR with the container's rootfs", m.Bundle)
	}
	return "", errors.New("the archive names no bundle: pass --bundle DIR with the container's rootfs")
}

// configFromSpecDump writes the archive's spec.dump as the bundle's config.json,
// with the rootfs taken from the bundle (the source host's path means nothing here).
func configFromSpecDump(bundle, unpacked string) error {
	s, err := spec.Decode(filepath.Join(unpacked, archive.ArchiveSpecDump))
	if err != nil {
		return fmt.Errorf("archive's %s: %w", archive.ArchiveSpecDump, err)
	}
	if s.Root != nil && filepath.IsAbs(s.Root.Path) {
		s.Root.Path = "rootfs"
	}
	logrus.Infof("writing %s/%s from the archive's %s", bundle, spec.ConfigName, archive.ArchiveSpecDump)
	return writeJSON(filepath.Join(bundle, spec.ConfigName), s)
}
