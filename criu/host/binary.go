package host

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// MinVersion is the oldest CRIU mycr accepts: 4.1.x cannot dump INET sockets on
// kernels >= 6.16 and Debian 12's 3.17 does not work on 6.x at all.
const MinVersion = 40200

// installHint is appended to every "CRIU is missing / unusable" error.
const installHint = "install CRIU >= 4.2: run `make deps`"

// fallbackPaths are tried when "criu" is not in PATH (sbin dirs are often
// missing from PATH under sudo or in CI shells).
var fallbackPaths = []string{"/usr/local/sbin/criu", "/usr/sbin/criu"}

// FindBinary resolves the criu binary to an absolute path.
// criuPath "" means: "criu" in PATH, else the fallback paths.
func FindBinary(criuPath string) (string, error) {
	if criuPath != "" {
		abs, err := filepath.Abs(criuPath)
		if err != nil {
			return "", err
		}
		if err := isExecutable(abs); err != nil {
			return "", fmt.Errorf("criu binary %s: %w; %s", abs, err, installHint)
		}
		return abs, nil
	}
	if p, err := exec.LookPath("criu"); err == nil {
		return filepath.Abs(p)
	}
	for _, p := range fallbackPaths {
		if isExecutable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("criu not found in PATH nor in %s; %s",
		strings.Join(fallbackPaths, ", "), installHint)
}

func isExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return errors.New("not an executable file")
	}
	return nil
}

// BinaryVersion runs `criu --version` and returns e.g. 40201 for 4.2.1.
// Bounded in time: a broken binary must not hang `mycr check`.
func BinaryVersion(bin string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			err = fmt.Errorf("%w: %s", err, firstLine(strings.TrimSpace(string(ee.Stderr))))
		}
		return 0, fmt.Errorf("%s --version: %w", bin, err)
	}
	return parseVersion(out)
}

// versionRe matches the "Version: X.Y[.Z]" line of `criu --version`
// (suffixes such as "-rc2" or "-dirty" are ignored).
var versionRe = regexp.MustCompile(`(?m)^Version:\s*(\d+)\.(\d+)(?:\.(\d+))?`)

func parseVersion(out []byte) (int, error) {
	m := versionRe.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no Version: line in %q", out)
	}
	n := 0
	for i, mul := range []int{10000, 100, 1} {
		x, _ := strconv.Atoi(string(m[i+1])) // "" (no patch level) is 0
		n += x * mul
	}
	return n, nil
}

// FormatVersion turns 40201 into "4.2.1".
func FormatVersion(v int) string {
	return fmt.Sprintf("%d.%d.%d", v/10000, v/100%100, v%100)
}

// binDir returns the dir to put first in PATH so that exec("criu") - which
// libcontainer does - resolves to bin: bin's own dir, or for a binary not
// named "criu" a private symlink dir <stateDir>/criu-bin. "" when PATH already
// finds bin.
func binDir(stateDir, bin string) (string, error) {
	dir := filepath.Dir(bin)
	if filepath.Base(bin) != "criu" {
		dir = filepath.Join(stateDir, "criu-bin")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", err
		}
		if link := filepath.Join(dir, "criu"); !sameFile(link, bin) {
			_ = os.Remove(link)
			if err := os.Symlink(bin, link); err != nil && !sameFile(link, bin) { // lost a race: fine
				return "", err
			}
		}
	}
	if found, err := exec.LookPath("criu"); err == nil && sameFile(found, filepath.Join(dir, "criu")) {
		return "", nil
	}
	return dir, nil
}

func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}
