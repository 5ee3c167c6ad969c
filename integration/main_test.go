package integration

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var (
	// mycrBin is the binary under test: $MYCR_BINARY or one built from ./cmd/mycr.
	mycrBin string
	// progName is its base name, the word `--version` starts with.
	progName string
	// netprogBin is the static test program built from testdata/netprog.
	netprogBin string
	// repoRoot is the module root (the parent of this package's directory).
	repoRoot string
	// runTmp holds the run's built programs; removed when the run ends.
	runTmp string
	// runID prefixes every container id: cgroup paths are global, so ids must not
	// collide with other runs (or other tests) on the same machine.
	runID string
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "integration: these tests create real containers and need root; skipping all")
		return 0
	}
	var err error
	if repoRoot, err = filepath.Abs(".."); err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	tmp, err := os.MkdirTemp("", "mycr-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	runTmp = tmp

	if mycrBin = os.Getenv("MYCR_BINARY"); mycrBin != "" {
		if mycrBin, err = filepath.Abs(mycrBin); err == nil {
			_, err = os.Stat(mycrBin)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "integration: MYCR_BINARY: %v\n", err)
			return 1
		}
	} else {
		mycrBin = filepath.Join(tmp, "mycr")
		if err := goBuild(mycrBin, "./cmd/mycr", false); err != nil {
			fmt.Fprintf(os.Stderr, "integration: building mycr: %v\n", err)
			return 1
		}
	}
	progName = filepath.Base(mycrBin)

	netprogBin = filepath.Join(tmp, "netprog")
	if err := goBuild(netprogBin, "./integration/testdata/netprog", true); err != nil {
		fmt.Fprintf(os.Stderr, "integration: building the test program: %v\n", err)
		return 1
	}

	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	runID = "it" + hex.EncodeToString(b)
	fmt.Fprintf(os.Stderr, "integration: binary %s, container ids prefixed %s-\n", mycrBin, runID)
	return m.Run()
}

// goBuild builds pkg (relative to the repository root) into out; static means
// CGO_ENABLED=0, for a program copied into a container's rootfs.
func goBuild(out, pkg string, static bool) error {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = repoRoot
	cmd.Env = os.Environ()
	if static {
		cmd.Env = append(cmd.Env, "CGO_ENABLED=0")
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}
