package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/mycr/mycr/criu/archive"
	"github.com/mycr/mycr/criu/archive/oci"
)

// ociTarget is an export to an image (--export oci:REF): the archive is
// written, uncompressed, to a private temp file, then pushed as the one layer
// of a checkpoint image.
type ociTarget struct {
	ref name.Reference
	dir string
}

// prepareOCI checks, before anything is dumped, that an export to an image can
// be pushed, and points x at the temp file; nil when x names a file.
func (r *Root) prepareOCI(id string, x *ExportOpts) (*ociTarget, error) {
	if !strings.HasPrefix(x.File, oci.Prefix) {
		return nil, nil
	}
	ref, _, err := oci.Ref(x.File)
	if err != nil {
		return nil, err
	}
	if err := oci.CheckPush(ref); err != nil {
		return nil, fmt.Errorf("%w; nothing was checkpointed", err)
	}
	dir, err := r.tempDir("oci-" + id)
	if err != nil {
		return nil, err
	}
	x.File = filepath.Join(dir, "checkpoint.tar")
	x.Compression = archive.None // the registry layer is gzip-compressed as it is pushed
	return &ociTarget{ref: ref, dir: dir}, nil
}

// push uploads the written archive with the annotations Kubernetes and
// checkpointctl read.
func (t *ociTarget) push(id string, x ExportOpts, images string) error {
	ann := map[string]string{oci.AnnotationName: id, oci.AnnotationEngine: "mycr", oci.AnnotationRuntime: "mycr"}
	if x.RootfsImage != "" {
		ann[oci.AnnotationRootfsImage] = x.RootfsImage
	}
	if m := OpenCheckpoint(images).Meta; m != nil && m.CriuVersion != 0 {
		ann[oci.AnnotationCriuVersion] = strconv.Itoa(m.CriuVersion)
	}
	return oci.Push(t.ref, x.File, ann)
}

func (t *ociTarget) close() {
	if t != nil {
		_ = os.RemoveAll(t.dir)
	}
}
