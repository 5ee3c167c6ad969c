package runtime

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/sys/mountinfo"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// A restore that dies with mycr (SIGKILL, OOM) leaves a half container behind:
// libcontainer's bind mount of the rootfs at <state dir>/criu-root (unmounted by
// a defer that never ran), the state dir, cgroups, and possibly half-restored
// processes in them. Removing that state dir without unmounting first would
// delete the bundle's rootfs through the mount.

// recoverRestore removes what an interrupted restore left, unless the
// container came back before mycr died (then only the mount is cleaned up).
func (r *Root) recoverRestore(id string, in intent) (string, bool) {
	dir := r.StateDir(id)
	unmountYard(in.LogPath)
	if err := unmountUnder(dir); err != nil {
		return fmt.Sprintf("cannot unmount what it left under %s: %v", dir, err), false
	}
	c, err := libcontainer.Load(r.Dir, id)
	if err == nil {
		if st, serr := c.Status(); serr == nil && (st == libcontainer.Running || st == libcontainer.Paused) {
			return fmt.Sprintf("the container had been restored and is %s", st), true
		}
	}
	paths := ownCgroups(in.CgroupPaths, id)
	killed := emptyCgroups(paths, 5*time.Second)
	if err == nil {
		_ = c.Destroy()
	}
	if err := removeCgroups(paths); err != nil {
		return fmt.Sprintf("the half-restored container's cgroups cannot be removed: %v", err), false
	}
	if err := removeStateDir(dir); err != nil {
		return err.Error(), false
	}
	r.dropLockFile(id)
	what := "its half-restored container was removed (state, mounts, cgroups"
	if killed > 0 {
		what += fmt.Sprintf(", %d processes killed", killed)
	}
	return what + "); restore it again", true
}

// ownCgroups keeps the recorded cgroup paths that are a container's own: below
// /sys/fs/cgroup, named after the container, and not a hierarchy's root (a
// mount point), so that no one else's processes are ever killed.
func ownCgroups(paths map[string]string, id string) map[string]string {
	out := map[string]string{}
	for k, p := range paths {
		p = filepath.Clean(p)
		rel, err := filepath.Rel("/sys/fs/cgroup", p)
		if err != nil || rel == "." || strings.HasPrefix(rel, "..") || !strings.Contains(filepath.Base(p), id) {
			continue
		}
		if ms := mountPointsUnder(p); len(ms) > 0 && ms[0] == p {
			continue
		}
		out[k] = p
	}
	return out
}

// removeStateDir removes a container's state dir, never through a mount point.
func removeStateDir(dir string) error {
	if ms := mountPointsUnder(dir); len(ms) > 0 {
		return fmt.Errorf("refusing to remove %s: %s is still mounted", dir, ms[0])
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}

// unmountUnder detaches every mount at or below dir, deepest first.
func unmountUnder(dir string) error {
	ms := mountPointsUnder(dir)
	sort.Slice(ms, func(i, j int) bool { return len(ms[i]) > len(ms[j]) })
	for _, m := range ms {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("unmount %s: %w", m, err)
		}
	}
	return nil
}

// mountPointsUnder lists the mount points at or below dir in our mount namespace.
func mountPointsUnder(dir string) []string {
	ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(filepath.Clean(dir)))
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Mountpoint)
	}
	return out
}

// emptyCgroups SIGKILLs every process in the cgroups (and their children
// groups), thawing a frozen one so the kill lands, until they are empty or limit
// passes. It returns how many processes it killed.
func emptyCgroups(paths map[string]string, limit time.Duration) int {
	killed := map[int]bool{}
	deadline := time.Now().Add(limit)
	for {
		found := false
		for _, p := range paths {
			_ = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
				if err != nil || !d.IsDir() {
					return nil
				}
				b, _ := os.ReadFile(filepath.Join(path, "cgroup.procs"))
				for _, f := range strings.Fields(string(b)) {
					if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
						found = true
						if unix.Kill(pid, unix.SIGKILL) == nil {
							killed[pid] = true
						}
					}
				}
				thaw(path)
				return nil
			})
		}
		if !found || time.Now().After(deadline) {
			return len(killed)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// removeCgroups removes the cgroup dirs, children first. Only the paths the
// record names (mycr's own container cgroups) are touched.
func removeCgroups(paths map[string]string) error {
	var dirs []string
	for _, p := range paths {
		_ = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
	}
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
	var first error
	for _, d := range dirs {
		var err error
		for range 50 {
			if err = unix.Rmdir(d); err == nil || errors.Is(err, unix.ENOENT) {
				err = nil
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil && first == nil {
			first = fmt.Errorf("rmdir %s: %w", d, err)
		}
	}
	return first
}

// noteCgroups records the cgroups of a container being restored in its intent,
// and returns them.
func (r *Root) noteCgroups(id string, c *libcontainer.Container) map[string]string {
	st, err := c.State()
	if err != nil {
		return nil
	}
	r.updateIntent(id, func(in *intent) { in.CgroupPaths = st.CgroupPaths })
	return st.CgroupPaths
}

// undoRestore removes what a failed restore leaves behind once libcontainer
// destroyed the container as far as it could: CRIU killed mid-way (by the
// watchdog) leaves half-restored processes in the container's cgroups, which
// libcontainer does not kill (own pid namespace), so that neither the cgroups
// nor the state dir could be removed; and CRIU's cgroup yard stays mounted.
func (r *Root) undoRestore(id string, c *libcontainer.Container, cgroups map[string]string, logPath string) {
	unmountYard(logPath)
	paths := ownCgroups(cgroups, id)
	if n := emptyCgroups(paths, 5*time.Second); n > 0 {
		logrus.Warnf("killed %d half-restored processes of %s", n, id)
	}
	_ = c.Destroy()
	if err := removeCgroups(paths); err != nil {
		logrus.Warnf("failed restore of %s: %v", id, err)
	}
	dir := r.StateDir(id)
	if err := unmountUnder(dir); err != nil {
		logrus.Warnf("failed restore of %s: %v", id, err)
	}
	if err := removeStateDir(dir); err != nil {
		logrus.Warnf("failed restore of %s: %v", id, err)
	}
}

// yardRe finds the cgroup yard in a CRIU restore log: a tmpfs with the cgroup
// hierarchies mounted in it, made in CRIU's work dir (the log's dir) and
// unmounted by CRIU at the end, unless CRIU is killed. Compiled on first use,
// not at every mycr start-up.
var yardRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`Opening (\.criu\.cgyard\.[A-Za-z0-9]{6}) as cg yard`)
})

// unmountYard unmounts and removes the cgroup yard of the CRIU run logged at logPath.
func unmountYard(logPath string) {
	if logPath == "" {
		return
	}
	f, err := os.Open(logPath)
	if err != nil {
		return
	}
	defer f.Close()
	head := make([]byte, 1<<20) // the yard is prepared early
	n, _ := io.ReadFull(f, head)
	m := yardRe().FindSubmatch(head[:n])
	if m == nil {
		return
	}
	yard := filepath.Join(filepath.Dir(logPath), string(m[1]))
	if err := unmountUnder(yard); err != nil {
		logrus.Warnf("CRIU's cgroup yard: %v", err)
		return
	}
	_ = os.Remove(yard)
}

// dropLockFile removes the lock file the dead restore left, if no one holds it
// (a holder removes it itself on unlock, the container being gone).
func (r *Root) dropLockFile(id string) {
	path := filepath.Join(r.Dir, ".locks", id)
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer f.Close()
	if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil && sameFile(f, path) && !r.Exists(id) {
		_ = os.Remove(path)
	}
}
