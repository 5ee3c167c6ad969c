package oci

import (
	"github.com/mycr/mycr/criu/archive"
)

// Extract pulls the checkpoint image src ("oci:REF") and extracts its layer
// into dir exactly as an archive file (archive.ExtractNamed): verified
// against mycr's manifest, or, for another tool's image, only with
// o.Unverified.
func Extract(src, dir string, o archive.ExtractOptions) (*archive.Manifest, error) {
	ref, _, err := Ref(src)
	if err != nil {
		return nil, err
	}
	layer, _, err := Pull(ref)
	if err != nil {
		return nil, err
	}
	defer layer.Close()
	return archive.ExtractNamed(layer, src, dir, o)
}
