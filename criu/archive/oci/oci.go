// Package oci pushes and pulls checkpoint archives as OCI images, the format
// Kubernetes restores from (CRI-O, containerd's CRI): one layer holding the
// archive's files (checkpoint/, config.dump, spec.dump, ...), annotated
// org.criu.checkpoint.container.name. The registry protocol is
// go-containerregistry's; credentials are docker's (~/.docker/config.json,
// DOCKER_CONFIG), as for `crane` and `docker push`.
package oci

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Prefix marks an image reference where a file name is expected
// (--export oci:REGISTRY/REPO:TAG, --import oci:...).
const Prefix = "oci:"

// Annotations of a checkpoint image (checkpointctl's names; CRI-O and
// containerd look for the container name to tell a checkpoint image).
const (
	AnnotationName        = "org.criu.checkpoint.container.name"
	AnnotationEngine      = "org.criu.checkpoint.engine"
	AnnotationRuntime     = "org.criu.checkpoint.runtime.name"
	AnnotationRootfsImage = "org.criu.checkpoint.rootfsImageName"
	AnnotationCriuVersion = "org.criu.checkpoint.criu.version"
	// crioAnnotationName is CRI-O's older name for the same (buildah-made images).
	crioAnnotationName = "io.kubernetes.cri-o.annotations.checkpoint.name"
)

// Ref parses an image reference given as "oci:REF" (or REF); the second
// result says whether s had the prefix.
func Ref(s string) (name.Reference, bool, error) {
	rest, ok := strings.CutPrefix(s, Prefix)
	ref, err := name.ParseReference(rest)
	if err != nil {
		return nil, ok, fmt.Errorf("image reference %q: %w (want oci:REGISTRY/REPO:TAG)", rest, err)
	}
	return ref, ok, nil
}

func options() []remote.Option {
	return []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithUserAgent("mycr")}
}

// CheckPush finds out, before anything is checkpointed, whether ref's registry
// can be reached and written to.
func CheckPush(ref name.Reference) error {
	repo := ref.Context()
	if err := remote.CheckPushPermission(ref, authn.DefaultKeychain, remote.DefaultTransport); err != nil {
		return fmt.Errorf("cannot push to %s: %w", repo, err)
	}
	return nil
}

// Push uploads the uncompressed checkpoint archive (a tar) at path as a
// one-layer image (gzip-compressed layer, OCI media types) with annotations.
func Push(ref name.Reference, path string, annotations map[string]string) error {
	layer, err := tarball.LayerFromFile(path, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.AppendLayers(img, layer)
	if err != nil {
		return err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", runtime.GOARCH
	cfg.Created = v1.Time{Time: time.Now().UTC()}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return err
	}
	img = mutate.Annotations(img, annotations).(v1.Image)
	if err := remote.Write(ref, img, options()...); err != nil {
		return fmt.Errorf("push %s: %w", ref, err)
	}
	return nil
}

// Pull opens a checkpoint image: its annotations, and a reader of its layer
// (the archive's files as a tar), which the caller closes.
func Pull(ref name.Reference) (io.ReadCloser, map[string]string, error) {
	img, err := remote.Image(ref, options()...)
	if err != nil {
		return nil, nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	if m.Annotations[AnnotationName] == "" && m.Annotations[crioAnnotationName] == "" {
		return nil, nil, fmt.Errorf("%s is not a checkpoint image: its manifest has no %s annotation", ref, AnnotationName)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	if len(layers) != 1 {
		return nil, nil, fmt.Errorf("checkpoint image %s has %d layers, want one holding the checkpoint", ref, len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		return nil, nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	return rc, m.Annotations, nil
}
