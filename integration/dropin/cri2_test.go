package dropin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestContainerd2CRICheckpoint checkpoints a pod's container through containerd
// v2's CRI CheckpointContainer, the call behind kubelet's checkpoint API and
// `crictl checkpoint --export`: containerd has mycr dump the container, which
// runs on, and writes a Kubernetes checkpoint archive. `mycr restore --import
// --unverified` restores that archive as a container of its own, and the
// counter goes on from where the checkpoint caught it.
func TestContainerd2CRICheckpoint(t *testing.T) {
	c := startContainerd2(t, "containerd2-cp")
	cri := newCRIClient(c.sock)
	pod := runCRIPod(t, cri, "cp", filepath.Join(c.dir, "pods"))
	assertRunsUnderMycr(t, c.shimRoot(), pod.id)
	// Changes to the rootfs travel in the archive's rootfs-diff.tar, a deletion as a whiteout.
	id, logs := pod.createContainer(t, cri, "counter", imageRef, "sh", "-c", rootfsChanges+counterScript)
	criStart(t, cri, id)
	assertRunsUnderMycr(t, c.shimRoot(), id)
	waitCount(t, "CRI container", 5, logs)

	archive := filepath.Join(c.dir, "counter-checkpoint.tar")
	lo := parseCounter(mustOut(t, logs)).last()
	start := time.Now()
	if _, err := cri.call("CheckpointContainer", pbStr(pbStr(nil, 1, id), 2, archive)); err != nil {
		t.Fatalf("CRI CheckpointContainer: %v\n--- containerd log:\n%s", err, tail(c.log, 20))
	}
	hi := parseCounter(mustOut(t, logs)).last()
	t.Logf("CRI CheckpointContainer took %v", time.Since(start).Round(time.Millisecond))
	if st := criState(t, cri, id); st != 1 {
		t.Fatalf("CRI reports the container in state %d after CheckpointContainer, want 1 (running)", st)
	}
	assertContinues(t, "the CRI container after CheckpointContainer", hi, logs)
	rootSt, err := os.Stat(filepath.Join(c.bundle(id), "rootfs"))
	if err != nil {
		t.Fatal(err)
	}
	// From here on only the restored counter counts.
	if _, err := cri.call("StopContainer", pbVarint(pbStr(nil, 1, id), 2, 1)); err != nil {
		t.Fatal(err)
	}

	// The bundle's rootfs: the image's files, its root with the mode of
	// containerd's (CRIU compares the root's mode).
	bundle := busyboxBundle(t, filepath.Join(c.dir, "restore-bundle"))
	if err := os.Chmod(filepath.Join(bundle, "rootfs"), rootSt.Mode().Perm()); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(c.dir, "mycr-root")
	t.Cleanup(func() { _, _ = runCmd(30*time.Second, nil, mycrBin, "--root", root, "delete", "-f", "k8s-counter") })
	start = time.Now()
	output := runWithPipe(t, "--root", root, "restore", "-d", "--import", archive, "--unverified", "--bundle", bundle, "k8s-counter")
	t.Logf("mycr restore --import of containerd's checkpoint archive took %v", time.Since(start).Round(time.Millisecond))
	assertRunsUnderMycr(t, root, "k8s-counter")
	if out, _ := output(); !strings.Contains(out, "containerd (Kubernetes)") {
		t.Errorf("mycr's warning does not name containerd as the archive's maker:\n%s", out)
	}
	assertContinuesWithin(t, "containerd's CRI checkpoint restored by mycr", lo, hi, output)
	rootfs := filepath.Join(bundle, "rootfs")
	if b, err := os.ReadFile(filepath.Join(rootfs, "etc/marker")); err != nil || string(b) != "carried\n" {
		t.Errorf("the file written in the container did not come with containerd's rootfs-diff.tar: %q %v", b, err)
	}
	for _, gone := range []string{"etc/group", "etc/.wh.group"} {
		if _, err := os.Lstat(filepath.Join(rootfs, gone)); err == nil {
			t.Errorf("%s is in the restored rootfs: the whiteout of the deleted /etc/group was not applied", gone)
		}
	}
}

// rootfsChanges writes one file and deletes another before the counter starts.
const rootfsChanges = "echo carried > /etc/marker; rm /etc/group; "
