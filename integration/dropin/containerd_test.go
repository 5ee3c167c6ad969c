package dropin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type containerd struct {
	*daemon
	dir, sock, ns string
	// bin holds containerd, ctr and the shim; "" means PATH (Debian's 1.6).
	bin string
	// runcRoot is the runc option Root; "" is the shim's default, /run/containerd/runc.
	runcRoot string
}

// shimRoot is the --root containerd's runc v2 shim hands to mycr: the runc
// root's directory for the namespace.
func (c *containerd) shimRoot() string {
	if c.runcRoot != "" {
		return filepath.Join(c.runcRoot, c.ns)
	}
	return filepath.Join("/run/containerd/runc", c.ns)
}

// bundle is the shim's bundle directory of a task (log.json, criu-dump.log, work/).
func (c *containerd) bundle(id string) string {
	return filepath.Join(c.dir, "state", "io.containerd.runtime.v2.task", c.ns, id)
}

// path is the file of one of containerd's binaries.
func (c *containerd) path(bin string) string {
	if c.bin == "" {
		return bin
	}
	return filepath.Join(c.bin, bin)
}

// startContainerd starts a containerd of its own (root, state, sockets under base)
// with config.toml extra appended, and imports the busybox image into namespace ns.
func startContainerd(t *testing.T, name, ns, extra string) *containerd {
	t.Helper()
	needSetup(t)
	needBinaries(t, "containerd", "ctr", "containerd-shim-runc-v2")
	c := &containerd{dir: filepath.Join(base, name), ns: ns}
	if strings.HasPrefix(ns, "mycr-dropin-") { // ctr's cgroups are /<namespace>/<id>
		cgroupParents = append(cgroupParents, "/"+ns)
	}
	c.launch(t, 2, extra)
	return c
}

// launch writes config.toml (format version, extra appended: top-level keys
// first, then tables) and starts containerd with it.
func (c *containerd) launch(t *testing.T, version int, extra string) {
	t.Helper()
	rememberGlobal("/run/containerd", "/opt/containerd") // the opt plugin makes /opt/containerd/{bin,lib}
	rememberGlobal(c.shimRoot())
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c.sock = filepath.Join(c.dir, "containerd.sock")
	config := fmt.Sprintf(`version = %d
root = %q
state = %q
%s
[grpc]
  address = %q
[ttrpc]
  address = %q
[debug]
  level = "info"
`, version, filepath.Join(c.dir, "root"), filepath.Join(c.dir, "state"), extra, c.sock, c.sock+".ttrpc")
	if !strings.Contains(extra, "io.containerd.grpc.v1.cri") {
		config = strings.Replace(config, "\n[grpc]", "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]", 1)
	}
	cfgPath := filepath.Join(c.dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	// Restores unpack checkpoint images into $XDG_RUNTIME_DIR (else /tmp) and leave them.
	xdg := filepath.Join(c.dir, "xdg")
	if err := os.MkdirAll(xdg, 0o700); err != nil {
		t.Fatal(err)
	}
	env := daemonEnv("XDG_RUNTIME_DIR=" + xdg)
	if c.bin != "" { // the shim is looked up in PATH: this containerd's own first
		env = append(env, "PATH="+c.bin+":"+daemonPath)
	}
	c.daemon = startDaemon(t, filepath.Base(c.dir), env, c.path("containerd"), "--config", cfgPath)
	t.Cleanup(func() { c.shutdown(t) })
	c.waitReady(t, 30*time.Second, func() bool {
		_, err := c.ctr("version")
		return err == nil
	})
	if out, err := c.ctr("image", "import", imageTar); err != nil {
		t.Fatalf("ctr image import: %v\n%s", err, out)
	}
}

// shutdown kills and deletes this namespace's tasks and containers, then stops containerd.
func (c *containerd) shutdown(t *testing.T) {
	if out, err := c.ctr("task", "ls", "-q"); err == nil {
		for _, id := range strings.Fields(out) {
			_, _ = c.ctr("task", "kill", "-s", "KILL", id)
		}
		for _, id := range strings.Fields(out) {
			if out, err := c.ctr("task", "rm", "-f", id); err != nil {
				t.Logf("ctr task rm -f %s: %v %s", id, err, out)
			}
		}
	}
	if out, err := c.ctr("c", "ls", "-q"); err == nil && strings.TrimSpace(out) != "" {
		_, _ = c.ctr(append([]string{"c", "rm"}, strings.Fields(out)...)...)
	}
	c.stop(20 * time.Second)
	if strings.HasPrefix(c.ns, "mycr-dropin-") {
		removeCgroupTree("/" + c.ns)
	}
}

func (c *containerd) ctr(args ...string) (string, error) {
	out, err := runCmd(60*time.Second, daemonEnv(), c.path("ctr"), append([]string{"-a", c.sock, "-n", c.ns}, args...)...)
	return dropWarnings(out), err
}

// dropWarnings removes the log lines of warnings from a client's output: ctr 2.x
// warns on every call of a cgroup v1 host ("DEPRECATION: ...").
func dropWarnings(out string) string {
	lines := strings.SplitAfter(out, "\n")
	kept := lines[:0]
	for _, l := range lines {
		if !(strings.HasPrefix(l, "time=") && strings.Contains(l, " level=warning ")) {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "")
}

func (c *containerd) must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := c.ctr(args...)
	if err != nil {
		t.Fatalf("ctr %s: %v\n%s\n--- containerd log:\n%s", strings.Join(args, " "), err, out, tail(c.log, 15))
	}
	return strings.TrimSpace(out)
}

// taskStatus is the STATUS column of `ctr task ls` for id ("" if absent).
func (c *containerd) taskStatus(t *testing.T, id string) string {
	t.Helper()
	for _, line := range strings.Split(c.must(t, "task", "ls"), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == id {
			return f[2]
		}
	}
	return ""
}

// runTask starts a detached task with mycr as the shim's runc binary; output goes to
// <dir>/<id>.log.
func (c *containerd) runTask(t *testing.T, id, script string) func() (string, error) {
	t.Helper()
	logFile := filepath.Join(c.dir, id+".log")
	c.must(t, "run", "-d", "--runc-binary", mycrBin, "--fifo-dir", filepath.Join(c.dir, "fifo"),
		"--log-uri", "file://"+logFile, imageRef, id, "sh", "-c", script)
	assertRunsUnderMycr(t, c.shimRoot(), id)
	return func() (string, error) {
		b, err := os.ReadFile(logFile)
		return string(b), err
	}
}

func TestContainerd(t *testing.T) {
	c := startContainerd(t, "containerd", "mycr-dropin-"+randSuffix(), "")

	t.Run("TaskCheckpoint", func(t *testing.T) {
		logs := c.runTask(t, "k1", counterScript)
		waitCount(t, "k1", 5, logs)
		ref := c.must(t, "task", "checkpoint", "k1")
		if !strings.HasPrefix(ref, "containerd.io/checkpoint/k1") {
			t.Fatalf("ctr task checkpoint printed %q, want a checkpoint image name", ref)
		}
		if st := c.taskStatus(t, "k1"); st != "RUNNING" {
			t.Fatalf("k1 is %s after ctr task checkpoint (leaves it running by default)", st)
		}
		last := parseCounter(mustOut(t, logs)).last()
		assertContinues(t, "k1 after a leave-running checkpoint", last, logs)
		if images := c.must(t, "images", "ls", "-q"); !strings.Contains(images, ref) {
			t.Fatalf("checkpoint image %s not in ctr images ls:\n%s", ref, images)
		}
		// Run by the shim with containerd's bare environment, mycr found CRIU's
		// environment by itself and cached it under the shim's --root.
		if _, err := os.Stat(filepath.Join(c.shimRoot(), "criu-env.json")); err != nil {
			t.Fatalf("no CRIU environment cache under the shim's root: %v", err)
		}
		// containerd 1.6 fails a second `ctr task checkpoint` of an unchanged
		// container after the dump ("content sha256:...: already exists": the spec
		// blob is written again), so --exit is shown on a container of its own.
		logs = c.runTask(t, "k1x", counterScript)
		waitCount(t, "k1x", 3, logs)
		c.must(t, "task", "checkpoint", "--exit", "k1x")
		waitFor(t, 10*time.Second, "k1x stops after checkpoint --exit", func() (bool, string) {
			st := c.taskStatus(t, "k1x")
			return st == "STOPPED", st
		})
		// mycr removed the container after the dump: the shim's delete must read
		// "does not exist" and go on.
		c.must(t, "task", "rm", "k1x")
		c.must(t, "c", "rm", "k1x")
		c.must(t, "task", "kill", "-s", "KILL", "k1")
		waitFor(t, 10*time.Second, "k1 stops", func() (bool, string) {
			st := c.taskStatus(t, "k1")
			return st == "STOPPED", st
		})
		c.must(t, "task", "rm", "k1")
		c.must(t, "c", "rm", "k1")
	})

	t.Run("ContainerCheckpointRestoreLive", func(t *testing.T) {
		// The counter also goes to /data/count in the container's rw layer, which
		// --rw checkpoints and restores: ctr c restore hands a non-tty task ctr's own
		// stdio and returns, so the file is how the restored counter is watched.
		script := `echo start; i=0; while true; do echo $i; echo $i >> /data/count; i=$((i+1)); sleep 0.1; done`
		logs := c.runTask(t, "k2", script)
		waitCount(t, "k2", 5, logs)
		lo := parseCounter(mustOut(t, logs)).last()
		c.must(t, "c", "checkpoint", "--task", "--rw", "k2", "mycr-dropin/k2:cp")
		hi := parseCounter(mustOut(t, logs)).last()
		if st := c.taskStatus(t, "k2"); st != "RUNNING" {
			t.Fatalf("k2 is %s after ctr c checkpoint (ctr pauses and resumes it)", st)
		}
		c.must(t, "task", "kill", "-s", "KILL", "k2")
		waitFor(t, 10*time.Second, "k2 stops", func() (bool, string) {
			st := c.taskStatus(t, "k2")
			return st == "STOPPED", st
		})
		c.must(t, "task", "rm", "k2")
		c.must(t, "c", "rm", "k2")

		c.must(t, "c", "restore", "--live", "--rw", "k2", "mycr-dropin/k2:cp")
		assertRunsUnderMycr(t, c.shimRoot(), "k2")
		execs := 0
		count := func() (string, error) {
			execs++
			return c.ctr("task", "exec", "--exec-id", fmt.Sprintf("cat%d", execs), "k2", "cat", "/data/count")
		}
		var got counter
		waitFor(t, 15*time.Second, "restored k2 counts on in /data/count", func() (bool, string) {
			out, err := count()
			if err != nil {
				return false, fmt.Sprintf("%v: %s", err, out)
			}
			got = parseCounter(out)
			return got.last() >= hi+3, got.String()
		})
		if len(got.vals) == 0 || got.vals[0] != 0 || !got.consecutive() || got.last() < lo {
			t.Fatalf("/data/count after ctr c restore --live --rw: want 0, 1, 2, ... without a gap or restart past %d: %s", hi, got)
		}
		t.Logf("k2 restored by ctr c restore --live --rw: /data/count went on to %d (checkpoint taken between %d and %d)", got.last(), lo, hi)
		c.must(t, "task", "kill", "-s", "KILL", "k2")
		waitFor(t, 10*time.Second, "restored k2 stops", func() (bool, string) {
			st := c.taskStatus(t, "k2")
			return st == "STOPPED", st
		})
		c.must(t, "task", "rm", "k2")
		c.must(t, "c", "rm", "k2")
	})

	t.Run("PausedTaskImagePath", func(t *testing.T) {
		logs := c.runTask(t, "k3", counterScript)
		waitCount(t, "k3", 5, logs)
		c.must(t, "task", "pause", "k3")
		last := parseCounter(mustOut(t, logs)).last()
		img := filepath.Join(c.dir, "k3-images")
		work := filepath.Join(c.dir, "k3-work")
		c.must(t, "task", "checkpoint", "--image-path", img, "--work-path", work, "k3")
		if st := c.taskStatus(t, "k3"); st != "PAUSED" {
			t.Fatalf("k3 is %s after checkpointing the paused task, want PAUSED", st)
		}
		time.Sleep(500 * time.Millisecond)
		if now := parseCounter(mustOut(t, logs)).last(); now != last {
			t.Fatalf("the paused counter moved from %d to %d during/after the checkpoint", last, now)
		}
		for _, f := range []string{filepath.Join(img, "inventory.img"), filepath.Join(work, "dump.log")} {
			if _, err := os.Stat(f); err != nil {
				t.Fatalf("ctr task checkpoint --image-path/--work-path: %v", err)
			}
		}
		c.must(t, "task", "resume", "k3")
		assertContinues(t, "k3 resumed after the checkpoint", last, logs)

		t.Run("RestoreFromImagePath", func(t *testing.T) {
			t.Skip("ctr 1.6 cannot restore from an --image-path directory: `ctr run` and `ctr task start` " +
				"have no checkpoint flag, `ctr c restore` takes only a checkpoint image; only the Go client " +
				"(runc options CriuImagePath / WithRestoreImagePath) restores from a directory")
		})
	})

	t.Run("FailedCheckpointKeepsRunning", func(t *testing.T) {
		// The numbers travel over an established TCP connection inside the container;
		// ctr 1.6 has no --tcp-established, so CRIU must refuse the dump.
		script := `nc -l -p 5000 -e sh -c "while read l; do echo \$l; done" & sleep 0.3; echo start; ` +
			`i=0; while true; do echo $i; i=$((i+1)); sleep 0.1; done | nc 127.0.0.1 5000`
		logs := c.runTask(t, "k4", script)
		waitCount(t, "k4", 5, logs)
		work := filepath.Join(c.dir, "k4-work")
		out, err := c.ctr("task", "checkpoint", "--work-path", work, "k4")
		if err == nil {
			t.Fatalf("checkpoint of a container with an established TCP connection succeeded:\n%s", out)
		}
		if !strings.Contains(out, "criu-dump.log") {
			t.Fatalf("the shim's error does not point at criu-dump.log:\n%s", out)
		}
		t.Logf("ctr task checkpoint failed as expected: %s", strings.TrimSpace(out))
		dump, rerr := os.ReadFile(filepath.Join(work, "dump.log"))
		if rerr != nil || !bytes.Contains(dump, []byte("TCP")) {
			t.Fatalf("--work-path has no dump.log naming the TCP socket: %v", rerr)
		}
		if _, err := os.Stat(filepath.Join(c.bundle("k4"), "criu-dump.log")); err != nil {
			t.Fatalf("the shim did not copy dump.log into the bundle: %v", err)
		}
		if st := c.taskStatus(t, "k4"); st != "RUNNING" {
			t.Fatalf("k4 is %s after the failed checkpoint, want RUNNING", st)
		}
		last := parseCounter(mustOut(t, logs)).last()
		assertContinues(t, "k4 after the failed checkpoint", last, logs)
		assertJSONLog(t, filepath.Join(c.bundle("k4"), "log.json"), "checkpoint")
	})

	t.Run("ShimContract", func(t *testing.T) {
		root := c.shimRoot()
		// features: containerd 1.7+ and Docker read it; checkpoint support is announced.
		out, err := runCmd(20*time.Second, nil, mycrBin, "features")
		var f struct {
			OCIVersionMin string            `json:"ociVersionMin"`
			Annotations   map[string]string `json:"annotations"`
		}
		if err != nil || json.Unmarshal([]byte(out), &f) != nil || f.OCIVersionMin == "" ||
			f.Annotations["org.opencontainers.runc.checkpoint.enabled"] != "true" {
			t.Fatalf("mycr features: %v\n%s", err, out)
		}
		// Error texts the shim matches, written as JSON into --log.
		logFile := filepath.Join(c.dir, "contract-log.json")
		out, err = runCmd(20*time.Second, nil, mycrBin, "--root", root, "--log", logFile, "--log-format", "json", "kill", "no-such-ctr", "9")
		if err == nil || !strings.Contains(out+readFile(logFile), "does not exist") {
			t.Fatalf("kill of a missing container: want a \"does not exist\" error, got %v\n%s", err, out)
		}
		assertJSONLog(t, logFile, "does not exist")
		if out, err := runCmd(20*time.Second, nil, mycrBin, "--root", root, "delete", "--force", "no-such-ctr"); err != nil {
			t.Fatalf("delete --force of a missing container must succeed (go-runc deletes blindly): %v\n%s", err, out)
		}
		// A task that exited: the shim's kill gets "container not running" from mycr
		// and reports "process already finished".
		c.must(t, "run", "-d", "--runc-binary", mycrBin, "--fifo-dir", filepath.Join(c.dir, "fifo"), imageRef, "k5", "true")
		waitFor(t, 10*time.Second, "k5 exits", func() (bool, string) {
			st := c.taskStatus(t, "k5")
			return st == "STOPPED", st
		})
		out, err = runCmd(20*time.Second, nil, mycrBin, "--root", root, "kill", "k5", "9")
		if err == nil || !strings.Contains(out, "container not running") {
			t.Fatalf("mycr kill of a stopped container: want \"container not running\", got %v %s", err, out)
		}
		if out, err := c.ctr("task", "kill", "-s", "KILL", "k5"); err == nil || !strings.Contains(out, "process already finished") {
			t.Fatalf("ctr task kill of an exited task: want \"process already finished\", got %v %s", err, out)
		}
		c.must(t, "task", "rm", "k5")
		c.must(t, "c", "rm", "k5")

		// --criu PATH (go-runc's Criu option) and delete --force of a running
		// container from its saved state; the shim copes with it being gone.
		logs := c.runTask(t, "k6", counterScript)
		waitCount(t, "k6", 3, logs)
		// The pid file the shim polls: the init's pid, digits only, no temporary left.
		pidData, err := os.ReadFile(filepath.Join(c.bundle("k6"), "init.pid"))
		if err != nil {
			t.Fatal(err)
		}
		var taskPid string
		for _, line := range strings.Split(c.must(t, "task", "ls"), "\n") {
			if f := strings.Fields(line); len(f) == 3 && f[0] == "k6" {
				taskPid = f[1]
			}
		}
		if string(pidData) != taskPid {
			t.Fatalf("init.pid holds %q, ctr task ls says pid %s", pidData, taskPid)
		}
		if left, _ := filepath.Glob(filepath.Join(c.bundle("k6"), ".*tmp*")); len(left) > 0 {
			t.Fatalf("temporary pid files left in the bundle: %v", left)
		}
		img := filepath.Join(c.dir, "k6-images")
		if out, err := runCmd(60*time.Second, nil, mycrBin, "--root", root, "--criu", "/usr/local/sbin/criu",
			"checkpoint", "--image-path", img, "--leave-running", "k6"); err != nil {
			t.Fatalf("checkpoint with --criu: %v\n%s", err, out)
		}
		if out, err := runCmd(20*time.Second, nil, mycrBin, "--root", root, "delete", "--force", "k6"); err != nil {
			t.Fatalf("delete --force of a running container: %v\n%s", err, out)
		}
		if _, err := mycrState(root, "k6"); err == nil {
			t.Fatal("k6 still exists after delete --force")
		}
		waitFor(t, 10*time.Second, "the shim sees k6 exit", func() (bool, string) {
			st := c.taskStatus(t, "k6")
			return st == "STOPPED", st
		})
		c.must(t, "task", "rm", "k6")
		c.must(t, "c", "rm", "k6")
	})
}

// assertJSONLog checks that a --log file holds only logrus JSON lines (level, msg,
// time) and that one of them mentions want.
func assertJSONLog(t *testing.T, path, want string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%s has a line that is not JSON: %q", path, line)
		}
		for _, k := range []string{"level", "msg", "time"} {
			if _, ok := m[k]; !ok {
				t.Fatalf("%s: line without %q: %q", path, k, line)
			}
		}
		if strings.Contains(fmt.Sprint(m["msg"]), want) {
			found = true
		}
	}
	if !found {
		t.Fatalf("%s has no line about %q:\n%s", path, want, data)
	}
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func mustOut(t *testing.T, f func() (string, error)) string {
	t.Helper()
	out, err := f()
	if err != nil {
		t.Fatal(err)
	}
	return out
}
