package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// rt is a runc-compatible runtime (mycr, runc, crun) with its own state root.
type rt struct {
	Name   string
	Bin    string
	Root   string
	Env    []string
	Prefix string // container ID prefix: cgroup paths are per ID, IDs must not clash across runtimes
	CanCR  bool
	Log    string   // --log file
	Wrap   []string // runs the runtime inside this command line (nsenter into a host), if any
}

func (r *rt) cmd(args ...string) []string {
	return append(append(append([]string(nil), r.Wrap...), r.Bin, "--root", r.Root, "--log", r.Log), args...)
}

func (r *rt) id(s string) string { return r.Prefix + s }

func (r *rt) exec(capture bool, args ...string) (Result, error) {
	var off int64
	if st, err := os.Stat(r.Log); err == nil {
		off = st.Size()
	}
	res, err := Cmd{Args: r.cmd(args...), Env: r.Env, Capture: capture}.Run()
	if err != nil {
		err = fmt.Errorf("%s (log: %s)", err, lastLines(readFrom(r.Log, off, 4000), 4))
	}
	return res, err
}

// readFrom returns up to n bytes of path from offset off on.
func readFrom(path string, off, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	b := make([]byte, n)
	k, _ := f.ReadAt(b, off)
	return string(b[:k])
}

// runTrue: `run` of a container whose process exits at once (foreground).
func (r *rt) runTrue(bundle, id string) (Result, error) {
	return r.exec(true, "run", "--bundle", bundle, id)
}

func (r *rt) create(bundle, id, pidFile string) (Result, error) {
	return r.exec(false, "create", "--bundle", bundle, "--pid-file", pidFile, id)
}

func (r *rt) start(id string) (Result, error) { return r.exec(true, "start", id) }

func (r *rt) delete(id string, force bool) (Result, error) {
	if force {
		return r.exec(true, "delete", "-f", id)
	}
	return r.exec(true, "delete", id)
}

// runDetached starts a long-running container and returns its init pid.
func (r *rt) runDetached(bundle, id, pidFile string) (Result, int, error) {
	res, err := r.exec(false, "run", "-d", "--bundle", bundle, "--pid-file", pidFile, id)
	if err != nil {
		return res, 0, err
	}
	pid, err := readPid(pidFile)
	return res, pid, err
}

func (r *rt) checkpoint(id, dir string, extra ...string) (Result, error) {
	args := append([]string{"checkpoint", "--image-path", dir}, extra...)
	return r.exec(true, append(args, id)...)
}

func (r *rt) restore(bundle, id, dir, pidFile string, extra ...string) (Result, int, error) {
	args := append([]string{"restore", "-d", "--bundle", bundle, "--image-path", dir, "--pid-file", pidFile}, extra...)
	res, err := r.exec(false, append(args, id)...)
	if err != nil {
		return res, 0, err
	}
	pid, err := readPid(pidFile)
	return res, pid, err
}

// remove kills the container's processes itself (reaping at once) and deletes it,
// so no runtime's "delete -f" poll loop is part of any measurement.
func (r *rt) remove(id string, pid int) {
	killWait(pid)
	_, _ = r.exec(true, "delete", "-f", id)
}

func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func tailFile(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		_, _ = f.Seek(st.Size()-n, 0)
	}
	b := make([]byte, n)
	k, _ := f.Read(b)
	return string(b[:k])
}

// bareCriu dumps and restores a container's process tree with the criu CLI, with
// nothing around it: the floor under any runtime. The container is started by runc
// (not timed); criu dumps the same tree (same namespaces, mounts and cgroups) as
// the runtimes do, and restores it into the same cgroups, with the rootfs bind
// mounted as --root as libcontainer does.
type bareCriu struct {
	Bin    string
	Env    []string
	Runc   *rt // starts and finally removes the containers
	Work   string
	mounts map[string][]cgMount
}

type cgMount struct{ Dest, HostPath string }

// cgroupMounts lists the cgroup mounts of the process (CRIU needs them as external
// mounts, as libcontainer declares them).
func cgroupMounts(pid int) ([]cgMount, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []cgMount
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		sep := -1
		for i, x := range fl {
			if x == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+1 >= len(fl) || len(fl) < 5 {
			continue
		}
		fstype, root, dest := fl[sep+1], fl[3], fl[4]
		if fstype != "cgroup" && fstype != "cgroup2" {
			continue
		}
		host := "/sys/fs/cgroup/" + filepath.Base(dest)
		if fstype == "cgroup2" && dest == "/sys/fs/cgroup" {
			host = "/sys/fs/cgroup"
		}
		out = append(out, cgMount{Dest: dest, HostPath: filepath.Join(host, root)})
	}
	return out, sc.Err()
}

func (b *bareCriu) dump(pid int, dir string) (Result, error) {
	mounts, err := cgroupMounts(pid)
	if err != nil {
		return Result{}, err
	}
	if b.mounts == nil {
		b.mounts = map[string][]cgMount{}
	}
	b.mounts[dir] = mounts
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Result{}, err
	}
	args := []string{b.Bin, "dump", "-t", strconv.Itoa(pid), "-D", dir, "-o", "dump.log", "-v4"}
	for i, m := range mounts {
		args = append(args, "--external", fmt.Sprintf("mnt[%s]:cg%d", m.Dest, i))
	}
	return Cmd{Args: args, Env: b.Env, Capture: true}.Run()
}

// restore restores the images in dir; extra goes to CRIU as is (--lazy-pages).
func (b *bareCriu) restore(rootfs, dir, pidFile string, extra ...string) (Result, int, error) {
	root, err := os.MkdirTemp(b.Work, "criu-root-")
	if err != nil {
		return Result{}, 0, err
	}
	defer os.Remove(root)
	if err := unix.Mount(rootfs, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return Result{}, 0, err
	}
	defer unix.Unmount(root, unix.MNT_DETACH)
	args := []string{b.Bin, "restore", "-D", dir, "-o", "restore.log", "-v4", "--root", root, "-d", "--pidfile", pidFile}
	for i, m := range b.mounts[dir] {
		args = append(args, "--external", fmt.Sprintf("mnt[cg%d]:%s", i, m.HostPath))
	}
	args = append(args, extra...)
	res, err := Cmd{Args: args, Env: b.Env, Capture: true}.Run()
	if err != nil {
		return res, 0, err
	}
	pid, err := readPid(pidFile)
	return res, pid, err
}

func sleepMs(ms int) { time.Sleep(time.Duration(ms) * time.Millisecond) }

// waitFile waits until path exists (a workload's "ready" mark).
func waitFile(path string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not appear within %v", path, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
