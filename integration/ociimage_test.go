package integration

import (
	"io"
	"log"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// startRegistry serves an OCI registry (go-containerregistry's, as `crane
// registry serve` runs it) on loopback for the test; it returns host:port.
func startRegistry(t *testing.T) string {
	t.Helper()
	return startRegistryWith(t, func(h http.Handler) http.Handler { return h })
}

// startRegistryWith serves the registry through wrap (to make it fail).
func startRegistryWith(t *testing.T, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := &http.Server{Handler: wrap(reg), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// TestExportImportOCIImage: checkpoint --export oci:REF pushes a checkpoint
// image (one layer, annotated with the container's name) to a registry;
// restore --import oci:REF pulls it into another root, and the counter goes on.
func TestExportImportOCIImage(t *testing.T) {
	requireCRIU(t)
	reg := startRegistry(t)
	ref := reg + "/mycr/counter:ckpt1"

	src, dst := NewEnv(t), NewEnv(t)
	c := src.StartCounter("oci")
	start := time.Now()
	src.MustRun("checkpoint", "--export", "oci:"+ref, "--rootfs-image", "docker.io/library/busybox:latest", c.ID)
	t.Logf("checkpoint --export oci: took %v", time.Since(start).Round(time.Millisecond))
	src.ExpectCheckpointedAway(c.ID, c.Pid)
	last := ExpectCounterStill(t, c.Count, 300*time.Millisecond)

	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatalf("the pushed image cannot be read back: %v", err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Annotations["org.criu.checkpoint.container.name"] != c.ID || len(m.Layers) != 1 ||
		m.Annotations["org.criu.checkpoint.rootfsImageName"] != "docker.io/library/busybox:latest" {
		t.Fatalf("checkpoint image: want one layer and annotation org.criu.checkpoint.container.name=%s, got %d layers, %v",
			c.ID, len(m.Layers), m.Annotations)
	}

	if out := src.MustRun("inspect", "oci:"+ref).Stdout; !strings.Contains(out, c.ID) || !strings.Contains(out, "sleep") {
		t.Fatalf("mycr inspect oci:%s shows no process of the container:\n%s", ref, out)
	}

	vol := copyCount(t, dst, c)
	bundle := dst.CopyBundle(c.Bundle, map[string]string{c.Vol: vol})
	newID := dst.ID("from-image")
	start = time.Now()
	dst.MustRun("restore", "-d", "--import", "oci:"+ref, "--bundle", bundle, newID)
	t.Logf("restore --import oci: took %v", time.Since(start).Round(time.Millisecond))
	dst.ExpectStatus(newID, "running")
	WaitCounterAbove(t, filepath.Join(vol, "count"), last+5, 5*time.Second)
	src.ExpectNoState("source root after export")

	// An image that is no checkpoint, and a registry that is not there, are
	// refused before anything runs.
	res := dst.Run("restore", "-d", "--import", "oci:"+reg+"/mycr/missing:none", "--bundle", bundle, dst.ID("missing"))
	if res.Code == 0 || !strings.Contains(res.Stderr, "mycr/missing") {
		t.Fatalf("restore of a missing image: want an error naming it, got %s", res)
	}
	c2 := src.StartCounter("oci-unreachable")
	res = src.Run("checkpoint", "--export", "oci:127.0.0.1:1/mycr/x:y", c2.ID)
	if res.Code == 0 || !strings.Contains(res.Stderr, "nothing was checkpointed") {
		t.Fatalf("export to an unreachable registry: want a refusal before the dump, got %s", res)
	}
	src.ExpectStatus(c2.ID, "running")
}

// TestExportOCIPushFailureKeepsContainer: a registry that takes the layer but
// refuses the manifest fails the push after the dump: the container is
// restored from its images and counts on, and the error says so.
func TestExportOCIPushFailureKeepsContainer(t *testing.T) {
	requireCRIU(t)
	reg := startRegistryWith(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
				http.Error(w, `{"errors":[{"code":"DENIED","message":"test registry refuses manifests"}]}`, http.StatusForbidden)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	e := NewEnv(t)
	c := e.StartCounter("oci-pushfail")
	res := e.Run("checkpoint", "--export", "oci:"+reg+"/mycr/refused:v1", c.ID)
	if res.Code == 0 || !strings.Contains(res.Stderr, "restored from its checkpoint and keeps running") ||
		!strings.Contains(res.Stderr, "no image was tagged at oci:"+reg+"/mycr/refused:v1") {
		t.Fatalf("a refused push: want an error saying the container was restored, got %s", res)
	}
	e.ExpectStatus(c.ID, "running")
	WaitCounterAbove(t, c.Count, MustCounter(t, c.Count)+5, 5*time.Second)
}
