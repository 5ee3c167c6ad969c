package runtime

import (
	"os"
	"path/filepath"

	"github.com/opencontainers/runc/libcontainer"

	"github.com/mycr/mycr/criu/archive"
	"github.com/mycr/mycr/criu/archive/oci"
	"github.com/mycr/mycr/spec"
)

// CheckpointExport checkpoints id and writes the images, the bundle's config, the
// rootfs changes since start and metadata with checksums into one archive.
// The destination is opened first: one that cannot be written fails the export
// before anything is dumped. An archive that fails after the dump does not lose
// the container: it is restored from its images (exportfail.go).
func (r *Root) CheckpointExport(id string, o *libcontainer.CriuOpts, x ExportOpts) error {
	c, err := r.Load(id)
	if err != nil {
		return err
	}
	src, err := readExportSource(c)
	if err != nil {
		return err
	}
	image, err := r.prepareOCI(id, &x) // exportoci.go
	if err != nil {
		return err
	}
	defer image.close()
	dest, err := openExportDest(x.File)
	if err != nil {
		return err
	}
	defer dest.abort()
	if image != nil {
		dest.image = oci.Prefix + image.ref.String()
	}
	back := saveForRollback(c, o) // exportfail.go
	defer back.close()
	scratch := ""
	if o.ImagesDirectory == "" {
		if scratch, err = r.tempDir("export-" + id); err != nil {
			return err
		}
		o.ImagesDirectory = filepath.Join(scratch, "images")
	}
	if err := r.Checkpoint(id, o); err != nil {
		r.dropScratchUnlessNeeded(id, scratch)
		return err
	}
	err = writeExport(dest, x, id, o, src)
	if err == nil {
		err = dest.commit()
	}
	if err == nil && image != nil {
		err = image.push(id, x, o.ImagesDirectory)
	}
	if dest.writeErr != nil {
		err = dest.writeErr // not the image file being archived when it failed
	}
	if err != nil {
		dest.abort()
		return r.exportFailed(id, o, src, back, scratch, dest, err)
	}
	removeScratch(scratch)
	return nil
}

func readExportSource(c *libcontainer.Container) (*exportSource, error) {
	st, err := c.State()
	if err != nil {
		return nil, err
	}
	cfg := c.Config()
	src := &exportSource{bundle: Bundle(c), rootfs: cfg.Rootfs, readonly: cfg.Readonlyfs, created: st.Created}
	for _, m := range cfg.Mounts {
		src.mounts = append(src.mounts, m.Destination)
	}
	return src, nil
}

func writeExport(dest *exportDest, x ExportOpts, id string, o *libcontainer.CriuOpts, src *exportSource) error {
	staging, err := os.MkdirTemp(filepath.Dir(o.ImagesDirectory), ".export-staging-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(staging)
	files, err := archive.ImageFiles(o.ImagesDirectory, archive.ArchiveImagesDir)
	if err != nil {
		return err
	}
	cp := OpenCheckpoint(o.ImagesDirectory) // the record Checkpoint just wrote
	meta := cp.Meta
	if meta == nil {
		return cp.MetaErr
	}
	add := func(name, path string) { files = append(files, archive.ArchiveFile{Name: name, Path: path}) }
	cfg := archive.NewConfigDump(id, x.RootfsImage, src.created, meta.Created)
	if err := writeJSON(filepath.Join(staging, archive.ArchiveConfigDump), cfg); err != nil {
		return err
	}
	add(archive.ArchiveConfigDump, filepath.Join(staging, archive.ArchiveConfigDump))
	status := filepath.Join(staging, archive.ArchiveStatusDump)
	if err := writeJSON(status, archive.NewStatusDump(id, x.RootfsImage)); err != nil {
		return err
	}
	add(archive.ArchiveStatusDump, status)
	add(archive.ArchiveSpecDump, filepath.Join(src.bundle, spec.ConfigName))
	for _, dir := range []string{o.WorkDirectory, o.ImagesDirectory} {
		if p := filepath.Join(dir, archive.ArchiveStatsDump); dir != "" && fileExists(p) {
			add(archive.ArchiveStatsDump, p)
			break
		}
	}
	if !src.readonly {
		diff := filepath.Join(staging, archive.ArchiveRootfsDiff)
		n, err := writeRootfsDiff(diff, src)
		if err != nil {
			return err
		}
		if n > 0 {
			add(archive.ArchiveRootfsDiff, diff)
		}
	}
	return archive.WriteArchive(dest, x.Compression, files, meta, x.Key)
}

func writeRootfsDiff(path string, src *exportSource) (int, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return archive.WriteRootfsDiff(f, src.rootfs, src.created, src.mounts)
}
