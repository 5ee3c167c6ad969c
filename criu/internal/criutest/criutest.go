// Package criutest holds what the tests of package criu and its subpackages
// share: finding a criu binary to test with, and dumping a process with it.
package criutest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// NeedCriu returns the criu binary (in PATH, else in sbin) or skips the test.
func NeedCriu(t *testing.T) string {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("CRIU tests need root")
	}
	for _, p := range []string{"criu", "/usr/local/sbin/criu", "/usr/sbin/criu"} {
		if bin, err := exec.LookPath(p); err == nil {
			abs, _ := filepath.Abs(bin)
			return abs
		}
	}
	t.Skip("criu not found")
	return ""
}

// Dump runs `criu dump` of pid into dir with the log in logDir; extra flags
// are appended. It returns the log path and criu's error.
func Dump(bin string, pid int, dir, logDir string, extra ...string) (string, error) {
	args := append([]string{"dump", "-t", strconv.Itoa(pid), "-D", dir, "-W", logDir,
		"-o", "dump.log", "-v4", "--leave-running"}, extra...)
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		err = fmt.Errorf("criu dump: %w %s", err, strings.TrimSpace(string(out)))
	}
	return filepath.Join(logDir, "dump.log"), err
}
