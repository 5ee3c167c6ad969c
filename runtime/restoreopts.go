package runtime

import "github.com/opencontainers/runc/libcontainer"

// RestoreOpts describe a restore: which images, into which container, with what stdio.
type RestoreOpts struct {
	Create    CreateOpts // ID, and Bundle ("" = current dir, else the checkpoint's bundle)
	Criu      libcontainer.CriuOpts
	Launch    LaunchOpts
	Import    string // archive to restore from ("-" = stdin) instead of an image dir
	ImportKey []byte // verify Import's signature with it (criu.ArchiveKey); nil: none
	// ImportUnverified accepts a Podman or Kubernetes archive (no manifest).
	ImportUnverified bool
	// Checkpoint is the image dir when the caller opened it already (--all);
	// nil: Criu.ImagesDirectory (or Import) is opened.
	Checkpoint  *Checkpoint
	RemapMounts map[string]string // bind mount destination -> new host source
}
