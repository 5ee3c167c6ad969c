package dropin

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// TestContainerd2CRIRestoreImage: mycr checkpoints a pod's container into an
// OCI checkpoint image on a registry on loopback (--export oci:REF); containerd
// v2's CRI pulls it and restores it into a new pod through CreateContainer
// (the image as the container's image) and StartContainer, as Kubernetes
// restores a checkpoint, with mycr as the runtime: the counter goes on.
func TestContainerd2CRIRestoreImage(t *testing.T) {
	if !criRestoresViaCreate() {
		t.Skipf("containerd %s's CRI has no restore through CreateContainer (removed in v2.4)", containerd2Version)
	}
	c := startContainerd2(t, "containerd2-restore")
	cri := newCRIClient(c.sock)
	ref := startRegistry(t) + "/mycr/counter:checkpoint"
	pod := runCRIPod(t, cri, "src", filepath.Join(c.dir, "src"))
	id, logs := pod.createContainer(t, cri, "counter", imageRef, "sh", "-c", rootfsChanges+counterScript)
	criStart(t, cri, id)
	assertRunsUnderMycr(t, c.shimRoot(), id)
	waitCount(t, "CRI container", 5, logs)

	// --rootfs-image: containerd creates the restored container's rootfs from it.
	if out, err := runCmd(90*time.Second, nil, mycrBin, "--root", c.shimRoot(), "checkpoint",
		"--export", "oci:"+ref, "--rootfs-image", imageRef, id); err != nil {
		t.Fatalf("mycr checkpoint --export oci:%s: %v\n%s", ref, err, out)
	}
	last := parseCounter(mustOut(t, logs)).last()
	waitFor(t, 10*time.Second, "CRI sees the checkpointed container exit", func() (bool, string) {
		st := criState(t, cri, id)
		return st == 2, fmt.Sprintf("state %d", st)
	})

	if _, err := cri.callImage("PullImage", pbMsg(nil, 1, pbStr(nil, 1, ref))); err != nil {
		t.Fatalf("CRI PullImage %s: %v\n--- containerd log:\n%s", ref, err, tail(c.log, 20))
	}
	dst := runCRIPod(t, cri, "dst", filepath.Join(c.dir, "dst"))
	start := time.Now()
	newID, restored := dst.createContainer(t, cri, "counter", ref)
	if _, err := cri.call("StartContainer", pbStr(nil, 1, newID)); err != nil {
		t.Fatalf("CRI StartContainer (restore) %s: %v\n--- containerd log:\n%s", newID, err, tail(c.log, 30))
	}
	t.Logf("CRI CreateContainer + StartContainer from the checkpoint image took %v", time.Since(start).Round(time.Millisecond))
	assertRunsUnderMycr(t, c.shimRoot(), newID)
	assertContinues(t, "mycr's checkpoint image restored by containerd's CRI", last, restored)
	if st := criState(t, cri, newID); st != 1 {
		t.Fatalf("CRI reports the restored container in state %d, want 1 (running)", st)
	}
	// mycr's rootfs-diff.tar carries written files, not deletions (portable.md).
	resp, err := cri.call("ExecSync", pbVarint(pbStr(pbStr(pbStr(nil, 1, newID), 2, "cat"), 2, "/etc/marker"), 3, 20))
	if out := pbField(resp, 1); err != nil || out != "carried\n" {
		t.Errorf("/etc/marker in the restored container: %q %v (exit %d)", out, err, pbVarintField(resp, 3))
	}
}

// startRegistry serves an OCI registry (go-containerregistry's, the server
// `crane registry serve` runs) on loopback for the test; it returns host:port.
func startRegistry(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: registry.New(registry.Logger(log.New(io.Discard, "", 0))), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}
