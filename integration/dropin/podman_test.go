package dropin

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// podmanRoot is where mycr keeps podman's containers: podman passes no --root to a
// runtime given by path, so mycr uses its default.
const podmanRoot = "/run/mycr"

type podman struct {
	dir string
	env []string
}

// setupPodman writes a containers.conf (cgroupfs, file events, mycr registered as
// runtime "mycr" and made the default) and a storage.conf under base, so podman's
// state, storage and events stay in this run's directory, and loads the image.
func setupPodman(t *testing.T) *podman {
	t.Helper()
	needSetup(t)
	needBinaries(t, "podman", "conmon")
	rememberGlobal("/var/lib/containers", "/run/containers")
	p := &podman{dir: filepath.Join(base, "podman")}
	for _, d := range []string{"tmp", "networks"} {
		if err := os.MkdirAll(filepath.Join(p.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := fmt.Sprintf(`[containers]
netns = "none"
%s
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = %q
runtime = "mycr"
tmp_dir = %q

[engine.runtimes]
mycr = [%q]

[network]
network_config_dir = %q
`, ulimitsLine(), filepath.Join(p.dir, "events.log"), filepath.Join(p.dir, "tmp"), mycrBin, filepath.Join(p.dir, "networks"))
	storage := fmt.Sprintf("[storage]\ndriver = \"overlay\"\ngraphroot = %q\nrunroot = %q\n",
		filepath.Join(p.dir, "root"), filepath.Join(p.dir, "runroot"))
	confPath := filepath.Join(p.dir, "containers.conf")
	storagePath := filepath.Join(p.dir, "storage.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(storagePath, []byte(storage), 0o644); err != nil {
		t.Fatal(err)
	}
	p.env = daemonEnv("CONTAINERS_CONF="+confPath, "CONTAINERS_STORAGE_CONF="+storagePath)
	t.Cleanup(func() {
		if out, err := p.cli("rm", "-f", "-a", "-t", "1"); err != nil {
			t.Logf("podman rm -fa: %v\n%s", err, out)
		}
	})
	if out, err := p.cli("load", "-i", imageTar); err != nil {
		t.Fatalf("podman load: %v\n%s", err, out)
	}
	return p
}

// ulimitsLine works around a host whose root lacks CAP_SYS_RESOURCE (like this
// test VM): podman asks for RLIMIT_NOFILE/NPROC hard limits of 1048576, which only
// that capability may set. The limits named here are the ones podman itself runs with.
func ulimitsLine() string {
	if hasCap(unix.CAP_SYS_RESOURCE) {
		return ""
	}
	var nofile, nproc unix.Rlimit
	_ = unix.Getrlimit(unix.RLIMIT_NOFILE, &nofile)
	_ = unix.Getrlimit(unix.RLIMIT_NPROC, &nproc)
	np := min(nproc.Max, 32768) // podman 4.3 runs with NPROC 32768 when it cannot raise it
	return fmt.Sprintf("default_ulimits = [\"nofile=%d:%d\", \"nproc=%d:%d\"]", nofile.Max, nofile.Max, np, np)
}

func hasCap(c int) bool {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && n&(1<<uint(c)) != 0
		}
	}
	return false
}

// cli runs podman with mycr given by path, as in `podman --runtime /path/to/mycr`.
func (p *podman) cli(args ...string) (string, error) {
	global := []string{"--runtime", mycrBin, "--cgroup-manager", "cgroupfs", "--events-backend", "file"}
	return runCmd(90*time.Second, p.env, "podman", append(global, args...)...)
}

// confCli runs podman with only containers.conf naming the runtime.
func (p *podman) confCli(args ...string) (string, error) {
	return runCmd(90*time.Second, p.env, "podman", args...)
}

func (p *podman) must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := p.cli(args...)
	if err != nil {
		t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(out)
}

func (p *podman) status(t *testing.T, name string) string {
	t.Helper()
	return p.must(t, "inspect", "-f", "{{.State.Status}}", name)
}

func (p *podman) logsOf(name string) func() (string, error) {
	return func() (string, error) { return p.cli("logs", name) }
}

func (p *podman) runCounter(t *testing.T, name string) string {
	t.Helper()
	id := lastLine(p.must(t, "run", "-d", "--pull", "never", "--network", "none", "--name", name, imageRef, "sh", "-c", counterScript))
	assertRunsUnderMycr(t, podmanRoot, id)
	return id
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

func TestPodman(t *testing.T) {
	p := setupPodman(t)

	t.Run("RuntimeProbes", func(t *testing.T) {
		// podman: the runtime supports C/R if `checkpoint --help` exits 0, and restore
		// into a pod if `restore --lsm-mount-context` complains of a missing value.
		if out, err := runCmd(10*time.Second, nil, mycrBin, "checkpoint", "--help"); err != nil {
			t.Fatalf("mycr checkpoint --help: %v\n%s", err, out)
		}
		out, _ := runCmd(10*time.Second, nil, mycrBin, "restore", "--lsm-mount-context")
		if !strings.Contains(out, "flag needs an argument") {
			t.Fatalf("mycr restore --lsm-mount-context must say \"flag needs an argument\":\n%s", out)
		}
	})

	t.Run("CheckpointRestore", func(t *testing.T) {
		id := p.runCounter(t, "p1")
		waitCount(t, "p1", 5, p.logsOf("p1"))
		p.must(t, "container", "checkpoint", "p1")
		if st := p.status(t, "p1"); st != "exited" {
			t.Fatalf("p1 is %s after checkpoint, want exited", st)
		}
		last := parseCounter(p.must(t, "logs", "p1")).last()
		p.must(t, "container", "restore", "p1")
		if st := p.status(t, "p1"); st != "running" {
			t.Fatalf("p1 is %s after restore", st)
		}
		assertRunsUnderMycr(t, podmanRoot, id)
		assertContinues(t, "podman container restore", last, p.logsOf("p1"))
		p.must(t, "stop", "-t", "1", "p1")
		p.must(t, "rm", "p1")
	})

	t.Run("LeaveRunningPrintStats", func(t *testing.T) {
		p.runCounter(t, "p2")
		waitCount(t, "p2", 3, p.logsOf("p2"))
		out := p.must(t, "container", "checkpoint", "--leave-running", "--print-stats", "p2")
		var stats struct {
			Containers []struct {
				Criu map[string]float64 `json:"criu_statistics"`
			} `json:"container_statistics"`
		}
		if err := json.Unmarshal([]byte(out), &stats); err != nil || len(stats.Containers) != 1 ||
			stats.Containers[0].Criu["pages_written"] <= 0 || stats.Containers[0].Criu["frozen_time"] <= 0 {
			t.Fatalf("--print-stats has no CRIU statistics (%v):\n%s", err, out)
		}
		if st := p.status(t, "p2"); st != "running" {
			t.Fatalf("p2 is %s after checkpoint --leave-running", st)
		}
		last := parseCounter(p.must(t, "logs", "p2")).last()
		assertContinues(t, "p2 left running", last, p.logsOf("p2"))
		p.must(t, "rm", "-f", "-t", "1", "p2")
	})

	t.Run("ExportImport", func(t *testing.T) {
		oldID := p.runCounter(t, "p3")
		waitCount(t, "p3", 5, p.logsOf("p3"))
		archive := filepath.Join(p.dir, "p3.tar.gz")
		p.must(t, "container", "checkpoint", "--export", archive, "p3")
		last := parseCounter(p.must(t, "logs", "p3")).last()
		// Into a new container under a new name while the original still exists.
		p.must(t, "container", "restore", "--import", archive, "--name", "p3b")
		newID := p.must(t, "inspect", "-f", "{{.Id}}", "p3b")
		if newID == oldID {
			t.Fatal("restore --import --name did not make a new container")
		}
		assertRunsUnderMycr(t, podmanRoot, newID)
		assertContinues(t, "p3b imported under a new name", last, p.logsOf("p3b"))
		// Into a new container under the original name, once the original is gone.
		p.must(t, "rm", "-f", "p3")
		p.must(t, "container", "restore", "--import", archive)
		assertContinues(t, "p3 imported again", last, p.logsOf("p3"))
		p.must(t, "rm", "-f", "-t", "1", "p3", "p3b")
	})

	t.Run("TCPEstablished", func(t *testing.T) {
		// A counter sent over an established TCP connection inside the container.
		script := `nc -l -p 5000 -e sh -c "while read l; do echo \$l >> /tmp/recv; done" & sleep 0.3; ` +
			`i=0; while true; do echo $i; i=$((i+1)); sleep 0.1; done | nc 127.0.0.1 5000`
		id := lastLine(p.must(t, "run", "-d", "--pull", "never", "--network", "none", "--name", "p4", imageRef, "sh", "-c", script))
		recv := func() (string, error) { return p.cli("exec", "p4", "cat", "/tmp/recv") }
		waitCount(t, "p4", 5, recv)
		out, err := p.cli("container", "checkpoint", "p4")
		if err == nil || !strings.Contains(out, "tcp-established") {
			t.Fatalf("checkpoint without --tcp-established: want a failure that names the option, got %v\n%s", err, out)
		}
		if st := p.status(t, "p4"); st != "running" {
			t.Fatalf("p4 is %s after the refused checkpoint, want running", st)
		}
		p.must(t, "container", "checkpoint", "--tcp-established", "p4")
		p.must(t, "container", "restore", "--tcp-established", "p4")
		assertRunsUnderMycr(t, podmanRoot, id)
		out, _ = recv()
		assertContinues(t, "numbers received over the restored TCP connection", parseCounter(out).last(), recv)
		p.must(t, "rm", "-f", "-t", "1", "p4")
	})

	t.Run("ContainersConf", func(t *testing.T) {
		// No --runtime: containers.conf's runtime = "mycr" picks it.
		out, err := p.confCli("run", "-d", "--pull", "never", "--network", "none", "--name", "p5", imageRef, "sh", "-c", counterScript)
		if err != nil {
			t.Fatalf("podman run: %v\n%s", err, out)
		}
		id := lastLine(out)
		if rt := p.must(t, "inspect", "-f", "{{.OCIRuntime}}", "p5"); rt != "mycr" {
			t.Fatalf("p5 runs with runtime %q, want mycr", rt)
		}
		assertRunsUnderMycr(t, podmanRoot, id)
		logs := func() (string, error) { return p.confCli("logs", "p5") }
		waitCount(t, "p5", 5, logs)
		if out, err := p.confCli("container", "checkpoint", "p5"); err != nil {
			t.Fatalf("checkpoint: %v\n%s", err, out)
		}
		last := parseCounter(mustOut(t, logs)).last()
		if out, err := p.confCli("container", "restore", "p5"); err != nil {
			t.Fatalf("restore: %v\n%s", err, out)
		}
		assertContinues(t, "p5 (runtime from containers.conf)", last, logs)
		p.must(t, "rm", "-f", "-t", "1", "p5")
	})
}
