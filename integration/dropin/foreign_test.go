package dropin

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestImportForeignArchive restores with mycr an archive that Podman (runtime
// runc) exported: refused without --unverified, since it has no manifest to
// verify, then restored with it, the counter going on from where it stopped.
func TestImportForeignArchive(t *testing.T) {
	p := setupPodman(t)
	needBinaries(t, "runc")
	runc, _ := exec.LookPath("runc")
	withRunc := func(args ...string) string {
		t.Helper()
		out, err := p.confCli(append([]string{"--runtime", runc}, args...)...)
		if err != nil {
			t.Fatalf("podman --runtime runc %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(out)
	}
	logs := func() (string, error) { return p.confCli("logs", "f1") }
	withRunc("run", "-d", "--pull", "never", "--network", "none", "--name", "f1", imageRef, "sh", "-c", counterScript)
	waitCount(t, "f1 under runc", 5, logs)
	// Rootfs changes travel in Podman's archive: rootfs-diff.tar and deleted.files.
	withRunc("exec", "f1", "sh", "-c", "echo carried > /etc/marker && rm /etc/group")
	archive := filepath.Join(p.dir, "f1-podman.tar.gz")
	withRunc("container", "checkpoint", "--export", archive, "f1")
	last := parseCounter(mustOut(t, logs)).last()

	root := filepath.Join(base, "foreign-root")
	bundle := busyboxBundle(t, filepath.Join(base, "foreign-bundle"))
	restore := []string{"--root", root, "restore", "-d", "--import", archive, "--bundle", bundle}
	out, err := runCmd(60*time.Second, nil, mycrBin, append(restore, "f1m")...)
	if err == nil || !strings.Contains(out, "Podman checkpoint archive") || !strings.Contains(out, "--unverified") {
		t.Fatalf("restore --import of a Podman archive without --unverified: want a refusal naming Podman and --unverified, got %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(bundle, "config.json")); err == nil {
		t.Fatal("the refused import wrote the bundle's config.json")
	}
	if out, err := runCmd(20*time.Second, nil, mycrBin, "--root", root, "state", "f1m"); err == nil {
		t.Fatalf("the refused import left container f1m:\n%s", out)
	}

	t.Cleanup(func() { _, _ = runCmd(30*time.Second, nil, mycrBin, "--root", root, "delete", "-f", "f1m") })
	start := time.Now()
	output := runWithPipe(t, append(restore, "--unverified", "f1m")...)
	t.Logf("mycr restore --import --unverified of Podman's archive took %v", time.Since(start).Round(time.Millisecond))
	assertRunsUnderMycr(t, root, "f1m")
	assertContinues(t, "Podman's (runc's) checkpoint restored by mycr", last, output)
	if b, err := os.ReadFile(filepath.Join(bundle, "rootfs/etc/marker")); err != nil || string(b) != "carried\n" {
		t.Errorf("the file written in the container did not come with Podman's rootfs-diff.tar: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(bundle, "rootfs/etc/group")); err == nil {
		t.Error("the file deleted in the container is still in the rootfs: deleted.files was not applied")
	}
}

// busyboxBundle makes dir/rootfs from the test image's layer (the files of
// Podman's image): the bundle an imported checkpoint restores into.
func busyboxBundle(t *testing.T, dir string) string {
	t.Helper()
	layer, err := busyboxLayer()
	if err != nil {
		t.Fatal(err)
	}
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("tar", "-x", "-C", rootfs, "-f", "-")
	cmd.Stdin = bytes.NewReader(layer)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("unpack the busybox layer: %v\n%s", err, out)
	}
	// containers/storage makes an image's root 0555 (the layer has no "./"
	// entry): CRIU checks that the root it restores onto has the same mode.
	if err := os.Chmod(rootfs, 0o555); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runWithPipe runs `mycr args...` (a detached run or restore) with stdout and
// stderr on a pipe that outlives it, as conmon gives a container, and returns a
// reader of what the restored container writes there.
func runWithPipe(t *testing.T, args ...string) func() (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var buf bytes.Buffer
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := r.Read(b)
			mu.Lock()
			buf.Write(b[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { r.Close() })
	var stderr bytes.Buffer
	cmd := exec.Command(mycrBin, args...)
	cmd.Stdout, cmd.Stderr = w, w
	cmd.Dir = base
	devnull, _ := os.Open(os.DevNull)
	cmd.Stdin = devnull
	err = cmd.Start()
	w.Close()
	if err == nil {
		err = waitTimeout(cmd, 90*time.Second)
	}
	devnull.Close()
	if err != nil {
		time.Sleep(200 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("mycr %s: %v\n%s%s", strings.Join(args, " "), err, buf.String(), stderr.String())
	}
	return func() (string, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.String(), nil
	}
}

func waitTimeout(cmd *exec.Cmd, d time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		_ = cmd.Process.Kill()
		return <-done
	}
}
