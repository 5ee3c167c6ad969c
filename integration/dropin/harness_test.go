package dropin

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// daemonEnv is the whole environment a daemon gets: what an init system gives it
// (systemd's default PATH), nothing of the test's. In particular no CRIU_FAULT and no
// MYCR_* variable: mycr must find what CRIU needs by itself when a daemon runs it.
// A PATH in extra replaces daemonPath (the last of a duplicate key counts).
func daemonEnv(extra ...string) []string {
	return append([]string{
		"PATH=" + daemonPath,
		"HOME=/root",
		"LANG=C.UTF-8",
	}, extra...)
}

const daemonPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// daemon is a daemon process this run started; it is stopped by its pid.
type daemon struct {
	name   string
	cmd    *exec.Cmd
	log    string
	exited chan struct{}
	err    error
}

var (
	daemonsMu sync.Mutex
	daemons   []*daemon
	// cgroupParents are cgroup paths (relative to each hierarchy) that only this
	// run's containers use; cleanupAll kills what is left in them and removes them.
	cgroupParents []string
	// extraDirs are directories outside base this run made (removed at the end).
	extraDirs []string
)

// startDaemon starts bin with args and env, its output in <base>/<name>.log.
func startDaemon(t *testing.T, name string, env []string, bin string, args ...string) *daemon {
	t.Helper()
	logPath := filepath.Join(base, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Dir = base
	cmd.Stdout, cmd.Stderr = f, f
	// Own process group: a ^C of `go test` must not reach the daemon before cleanup.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	f.Close()
	d := &daemon{name: name, cmd: cmd, log: logPath, exited: make(chan struct{})}
	go func() {
		d.err = cmd.Wait()
		close(d.exited)
	}()
	daemonsMu.Lock()
	daemons = append(daemons, d)
	daemonsMu.Unlock()
	t.Logf("started %s (pid %d): %s %s", name, cmd.Process.Pid, bin, strings.Join(args, " "))
	return d
}

// waitReady waits for ready() or fails with the daemon's log tail.
func (d *daemon) waitReady(t *testing.T, timeout time.Duration, ready func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-d.exited:
			t.Fatalf("%s exited during start-up (%v):\n%s", d.name, d.err, tail(d.log, 30))
		default:
		}
		if ready() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not ready after %v:\n%s", d.name, timeout, tail(d.log, 30))
}

// stop sends SIGTERM to the daemon's pid, then SIGKILL if it lingers.
func (d *daemon) stop(timeout time.Duration) {
	select {
	case <-d.exited:
		return
	default:
	}
	_ = d.cmd.Process.Signal(unix.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(timeout):
		_ = d.cmd.Process.Kill()
		<-d.exited
	}
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// runCmd runs a client command with a deadline and returns its combined output.
func runCmd(timeout time.Duration, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if env != nil {
		cmd.Env = env
	}
	cmd.Dir = base
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s %s: timed out after %v", name, strings.Join(args, " "), timeout)
	}
	return out.String(), err
}

// waitFor polls cond until it returns true; on timeout it fails with cond's last note.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var note string
	for {
		var ok bool
		if ok, note = cond(); ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached after %v; last seen: %s", what, timeout, note)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// counterScript prints "start" once per process run, then 0, 1, 2, ... every 0.1s.
// A restored process continues the numbers; a restarted one prints "start" and 0 again.
const counterScript = `echo start; i=0; while true; do echo $i; i=$((i+1)); sleep 0.1; done`

// counter is what a counterScript output shows.
type counter struct {
	starts int   // "start" lines: process runs
	vals   []int // the numbers, in order
}

func parseCounter(out string) counter {
	var c counter
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(strings.TrimRight(sc.Text(), "\r"))
		if line == "start" {
			c.starts++
			continue
		}
		if n, err := strconv.Atoi(line); err == nil {
			c.vals = append(c.vals, n)
		}
	}
	return c
}

func (c counter) last() int {
	if len(c.vals) == 0 {
		return -1
	}
	return c.vals[len(c.vals)-1]
}

func (c counter) String() string {
	v := c.vals
	if len(v) > 12 {
		return fmt.Sprintf("starts=%d vals=%v...%v", c.starts, v[:4], v[len(v)-6:])
	}
	return fmt.Sprintf("starts=%d vals=%v", c.starts, v)
}

// consecutive says whether the numbers go up by exactly one each line.
func (c counter) consecutive() bool {
	for i := 1; i < len(c.vals); i++ {
		if c.vals[i] != c.vals[i-1]+1 {
			return false
		}
	}
	return true
}

// assertContinues checks that a restored counter took up exactly where the
// checkpointed one stopped: logs reads the container's output (the old lines may or
// may not be part of it), last is the last number printed before the checkpoint.
func assertContinues(t *testing.T, what string, last int, logs func() (string, error)) {
	t.Helper()
	waitFor(t, 15*time.Second, what+": counter continues after "+strconv.Itoa(last), func() (bool, string) {
		out, err := logs()
		if err != nil {
			return false, fmt.Sprintf("%v: %s", err, out)
		}
		c := parseCounter(out)
		return c.last() >= last+3, c.String()
	})
	out, _ := logs()
	c := parseCounter(out)
	if c.starts > 1 || !c.consecutive() {
		t.Fatalf("%s: the process was restarted or lost its state, not restored: %s\n%s", what, c, out)
	}
	after := c.vals
	if idx := indexOf(c.vals, last); idx >= 0 {
		after = c.vals[idx+1:]
	} else if c.starts != 0 {
		t.Fatalf("%s: output has a start line but not the checkpointed value %d: %s", what, last, c)
	}
	if len(after) == 0 || after[0] != last+1 {
		t.Fatalf("%s: first number after the restore is not %d: %s", what, last+1, c)
	}
	t.Logf("%s: counter went on from %d to %d", what, last, c.last())
}

// assertContinuesWithin is assertContinues for a checkpoint taken while the counter
// ran on (--leave-running): the restored counter starts within [lo+1, hi+1].
func assertContinuesWithin(t *testing.T, what string, lo, hi int, logs func() (string, error)) {
	t.Helper()
	var c counter
	waitFor(t, 15*time.Second, what+": restored counter runs", func() (bool, string) {
		out, err := logs()
		if err != nil {
			return false, fmt.Sprintf("%v: %s", err, out)
		}
		c = parseCounter(out)
		return len(c.vals) >= 3, c.String()
	})
	if c.starts != 0 || !c.consecutive() || c.vals[0] < lo+1 || c.vals[0] > hi+1 {
		t.Fatalf("%s: restored counter should start in [%d, %d] without a start line: %s", what, lo+1, hi+1, c)
	}
	t.Logf("%s: restored counter starts at %d (checkpoint taken between %d and %d)", what, c.vals[0], lo, hi)
}

func indexOf(v []int, x int) int {
	for i, n := range v {
		if n == x {
			return i
		}
	}
	return -1
}

// waitCount waits until the counter printed at least n numbers and returns it.
func waitCount(t *testing.T, what string, n int, logs func() (string, error)) counter {
	t.Helper()
	var c counter
	waitFor(t, 15*time.Second, what+": counter runs", func() (bool, string) {
		out, err := logs()
		if err != nil {
			return false, fmt.Sprintf("%v: %s", err, out)
		}
		c = parseCounter(out)
		return len(c.vals) >= n, c.String()
	})
	return c
}

// mycrState runs `mycr --root root state id` and returns the status field.
func mycrState(root, id string) (string, error) {
	out, err := runCmd(20*time.Second, nil, mycrBin, "--root", root, "state", id)
	if err != nil {
		return "", fmt.Errorf("%v: %s", err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), `"status": "`); ok {
			return strings.TrimSuffix(strings.TrimSuffix(v, ","), `"`), nil
		}
	}
	return "", fmt.Errorf("no status in %s", out)
}

// assertRunsUnderMycr checks that mycr (not runc) holds the container in its root.
func assertRunsUnderMycr(t *testing.T, root, id string) {
	t.Helper()
	st, err := mycrState(root, id)
	if err != nil || st != "running" {
		t.Fatalf("container %s is not a running mycr container in %s: %q %v", id, root, st, err)
	}
}

// ---- clean-up ----

// cleanupAll stops what the tests left behind: daemons (by pid), their helper
// processes that name this run's directory (shims, conmon), processes left in this
// run's own cgroups, mounts under base; then removes base.
func cleanupAll() {
	daemonsMu.Lock()
	ds := append([]*daemon(nil), daemons...)
	daemonsMu.Unlock()
	for i := len(ds) - 1; i >= 0; i-- {
		ds[i].stop(20 * time.Second)
	}
	if base == "" {
		return
	}
	killProcsNaming(base)
	for _, cg := range cgroupParents {
		removeCgroupTree(cg)
	}
	unmountUnder(base)
	if err := os.RemoveAll(base); err != nil {
		fmt.Fprintf(os.Stderr, "dropin: remove %s: %v\n", base, err)
	}
	for _, d := range extraDirs {
		_ = os.RemoveAll(d)
	}
}

// killProcsNaming SIGKILLs, by pid, processes whose command line contains dir
// (containerd shims with -address <dir>/..., conmon with paths in dir).
func killProcsNaming(dir string) {
	entries, _ := os.ReadDir("/proc")
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(dir)) {
			continue
		}
		fmt.Fprintf(os.Stderr, "dropin: killing leftover pid %d: %s\n", pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
		_ = unix.Kill(pid, unix.SIGKILL)
	}
}

// removeCgroupTree kills the processes left in a cgroup this run owns, in every
// hierarchy, and removes its directories (deepest first).
func removeCgroupTree(rel string) {
	hier, _ := filepath.Glob("/sys/fs/cgroup/*")
	hier = append(hier, "/sys/fs/cgroup")
	for _, h := range hier {
		top := filepath.Join(h, rel)
		if _, err := os.Stat(top); err != nil {
			continue
		}
		var dirs []string
		_ = filepath.WalkDir(top, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for _, d := range dirs {
			procs, _ := os.ReadFile(filepath.Join(d, "cgroup.procs"))
			for _, f := range strings.Fields(string(procs)) {
				if pid, err := strconv.Atoi(f); err == nil {
					_ = unix.Kill(pid, unix.SIGKILL)
				}
			}
		}
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			for i := 0; i < 20; i++ {
				if err := unix.Rmdir(d); err == nil || errors.Is(err, unix.ENOENT) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
}

// unmountUnder detaches every mount at or below dir, deepest first.
func unmountUnder(dir string) {
	ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return
	}
	sort.Slice(ms, func(i, j int) bool { return len(ms[i].Mountpoint) > len(ms[j].Mountpoint) })
	for _, m := range ms {
		_ = unix.Unmount(m.Mountpoint, unix.MNT_DETACH)
	}
}

// randSuffix is a short id part unique to this run (cgroup paths are global).
func randSuffix() string {
	return strconv.FormatInt(int64(os.Getpid()), 36) + strconv.FormatInt(time.Now().UnixNano()%1679616, 36)
}
