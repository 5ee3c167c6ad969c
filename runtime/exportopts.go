package runtime

import "github.com/mycr/mycr/criu/archive"

// ExportOpts turn a checkpoint into one portable archive.
type ExportOpts struct {
	File        string // archive path, "-" for stdout, oci:REF for an image pushed to a registry
	Compression archive.Compression
	Key         []byte // optional HMAC key
	// RootfsImage names the image the rootfs came from, for config.dump:
	// Podman restores an archive into a new container of that image.
	RootfsImage string
}
