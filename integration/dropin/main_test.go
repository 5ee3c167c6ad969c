package dropin

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var (
	// base is this run's temporary directory: daemons' state, sockets, images.
	base string
	// mycrBin is the binary the daemons run: a private copy of $MYCR_BINARY (or of
	// ../../bin/mycr), so a rebuild during the run cannot change it under the daemons.
	mycrBin string
	// imageTar is a docker-archive of a busybox image (docker load, ctr import, podman load).
	imageTar string
	// setupErr is why nothing can run (reported by every test).
	setupErr error
)

// imageRef is the busybox image's name in every daemon.
const imageRef = "docker.io/library/mycr-busybox:latest"

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "dropin: these tests start dockerd, containerd and podman and need root; skipping all")
		return 0
	}
	var err error
	if base, err = os.MkdirTemp("", "mycr-dropin-"); err != nil {
		fmt.Fprintln(os.Stderr, "dropin:", err)
		return 1
	}
	// Docker's checkpoint tar and podman's layers are unpacked by other users'
	// tools too: the base must be reachable, the files inside stay root's.
	_ = os.Chmod(base, 0o755)
	setupErr = setup()
	code := m.Run()
	cleanupAll()
	return code
}

func setup() error {
	src := os.Getenv("MYCR_BINARY")
	if src == "" {
		src = filepath.Join("..", "..", "bin", "mycr")
	}
	src, err := filepath.Abs(src)
	if err != nil {
		return err
	}
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("mycr binary %s: %v (run `make build` or set MYCR_BINARY)", src, err)
	}
	mycrBin = filepath.Join(base, "bin", "mycr")
	if err := copyFile(src, mycrBin, 0o755); err != nil {
		return err
	}
	imageTar = filepath.Join(base, "mycr-busybox.tar")
	if err := writeImageArchive(imageTar, imageRef); err != nil {
		return fmt.Errorf("build the busybox image: %w", err)
	}
	fmt.Fprintf(os.Stderr, "dropin: mycr %s (copy of %s), work dir %s\n", mycrBin, src, base)
	return nil
}

// needSetup fails the test if the shared set-up failed.
func needSetup(t *testing.T) {
	t.Helper()
	if setupErr != nil {
		t.Fatalf("set-up failed: %v", setupErr)
	}
}

// needBinaries skips the test when a daemon's binaries are not installed.
func needBinaries(t *testing.T, bins ...string) {
	t.Helper()
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("%s is not installed (%v): run scripts/install-dropin-deps.sh", b, err)
		}
	}
}

func copyFile(src, dst string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
