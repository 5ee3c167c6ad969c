package host

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// KdatDir is where the CRIU that `make deps` builds (RUNDIR=/run/criu) keeps
// criu.kdat, its cache of kernel-feature probes. Without the cache every criu
// process (dump, restore, swrk, lazy-pages, check) probes the kernel again:
// 15-45 ms here, a third of an idle container's checkpoint. CRIU keeps the file
// only on a tmpfs, so that a reboot into another kernel drops it; stock CRIU
// uses /run, which is no tmpfs on hosts without an init that mounts one.
const KdatDir = "/run/criu"

const kdatFile = "criu.kdat"

// EnsureKdatDir makes KdatDir a root-only tmpfs directory, once per boot: a
// plain directory when /run itself is a tmpfs, else a small tmpfs mounted on
// it. Failing only costs time (CRIU probes as before), so errors are logged.
func EnsureKdatDir() {
	if os.Geteuid() != 0 || onTmpfs(KdatDir) {
		return
	}
	if err := os.Mkdir(KdatDir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		logrus.Debugf("no CRIU kdat cache dir: %v", err)
		return
	}
	if onTmpfs(KdatDir) { // /run is a tmpfs
		return
	}
	if err := MountTmpfsOnce(KdatDir, "mycr-criu-kdat", 0, "size=1m,mode=0700", onTmpfs); err != nil {
		logrus.Debugf("cannot mount a tmpfs for CRIU's kdat cache on %s: %v", KdatDir, err)
	}
}

// MountTmpfsOnce mounts a tmpfs on the existing dir unless done(dir) already
// holds. Two mycr starting at once must not stack two mounts: it locks the
// directory and looks again.
func MountTmpfsOnce(dir, source string, flags uintptr, data string, done func(string) bool) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := unix.Flock(int(d.Fd()), unix.LOCK_EX); err != nil {
		return err
	}
	if done(dir) {
		return nil
	}
	return unix.Mount(source, dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC|flags, data)
}

func onTmpfs(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.TMPFS_MAGIC
}

// kdatStatus describes CRIU's kernel-feature cache for `mycr check`.
func kdatStatus(bin string) (status, value, fix string) {
	b, err := os.ReadFile(bin)
	if err != nil {
		return "WARN", err.Error(), ""
	}
	cache := filepath.Join(KdatDir, kdatFile)
	if !bytes.Contains(b, []byte(cache+"\x00")) {
		return "WARN", bin + " keeps its cache of kernel probes in /run, which is no tmpfs here: every CRIU run probes the kernel again",
			"rebuild CRIU with `make deps` (RUNDIR=" + KdatDir + ")"
	}
	if !onTmpfs(KdatDir) {
		return "WARN", KdatDir + " is not a tmpfs yet (mycr mounts one at its first checkpoint or restore)", ""
	}
	if _, err := os.Stat(cache); err != nil {
		return "OK", fmt.Sprintf("%s on tmpfs; CRIU writes the cache at its next run", cache), ""
	}
	return "OK", cache + " (CRIU's kernel probes, cached until reboot)", ""
}
