package dropin

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Pods and containers through the CRI API (criClient), as a kubelet runs them.

// criNsOpts are the namespaces of the tests' pods and containers: the host's
// network (NODE: no CNI needed), a pid namespace per container (CONTAINER).
var criNsOpts = pbVarint(pbVarint(nil, 1, 2), 2, 1)

// criPod is a pod sandbox run with runtime handler "mycr".
type criPod struct {
	id     string
	config []byte // its PodSandboxConfig: CreateContainer takes it again
	logDir string
}

// runCRIPod runs pod name in a cgroup parent of this run; its containers log
// into logDir. The pod is stopped and removed at the end of the test.
func runCRIPod(t *testing.T, cri *criClient, name, logDir string) *criPod {
	t.Helper()
	cgroupParent := "/mycr-dropin-cri-" + randSuffix()
	cgroupParents = append(cgroupParents, cgroupParent)
	cfg := pbMsg(nil, 1, pbStr(pbStr(pbStr(nil, 1, name), 2, "uid-"+randSuffix()), 3, "default"))
	cfg = pbStr(cfg, 3, logDir)
	cfg = pbMsg(cfg, 8, pbMsg(pbStr(nil, 1, cgroupParent), 2, pbMsg(nil, 1, criNsOpts)))
	p := &criPod{config: cfg, logDir: logDir}
	waitFor(t, 20*time.Second, "CRI RunPodSandbox with runtime_handler mycr", func() (bool, string) {
		resp, err := cri.call("RunPodSandbox", pbStr(pbMsg(nil, 1, cfg), 2, "mycr"))
		if err != nil {
			return false, err.Error() // the CRI image store may not have seen the import yet
		}
		p.id = pbField(resp, 1)
		return true, ""
	})
	t.Cleanup(func() {
		_, _ = cri.call("StopPodSandbox", pbStr(nil, 1, p.id))
		_, _ = cri.call("RemovePodSandbox", pbStr(nil, 1, p.id))
	})
	return p
}

// createContainer creates container name from image in the pod, logging into
// logDir/name.log, with cmd as its command (none for a checkpoint image, whose
// restore brings its processes). It returns the container's ID and a reader
// of its log's text. The container is removed at the end of the test.
func (p *criPod) createContainer(t *testing.T, cri *criClient, name, image string, cmd ...string) (string, func() (string, error)) {
	t.Helper()
	cfg := pbMsg(nil, 1, pbStr(nil, 1, name))
	cfg = pbMsg(cfg, 2, pbStr(nil, 1, image))
	for _, a := range cmd {
		cfg = pbStr(cfg, 3, a)
	}
	cfg = pbStr(cfg, 11, name+".log")
	cfg = pbMsg(cfg, 15, pbMsg(nil, 2, pbMsg(nil, 3, criNsOpts)))
	resp, err := cri.call("CreateContainer", pbMsg(pbMsg(pbStr(nil, 1, p.id), 2, cfg), 3, p.config))
	if err != nil {
		t.Fatalf("CRI CreateContainer %s from %s: %v", name, image, err)
	}
	id := pbField(resp, 1)
	t.Cleanup(func() {
		_, _ = cri.call("StopContainer", pbVarint(pbStr(nil, 1, id), 2, 1))
		_, _ = cri.call("RemoveContainer", pbStr(nil, 1, id))
	})
	logPath := filepath.Join(p.logDir, name+".log")
	return id, func() (string, error) { return criLogText(logPath) }
}

// criLogText is the text of a CRI log file (lines "time stream tag text").
func criLogText(path string) (string, error) {
	data, err := os.ReadFile(path)
	var b strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.SplitN(line, " ", 4); len(f) == 4 {
			fmt.Fprintln(&b, f[3])
		}
	}
	return b.String(), err
}

func criStart(t *testing.T, cri *criClient, id string) {
	t.Helper()
	if _, err := cri.call("StartContainer", pbStr(nil, 1, id)); err != nil {
		t.Fatalf("CRI StartContainer %s: %v", id, err)
	}
}

// criState is the container's state in ContainerStatus (1 running, 2 exited).
func criState(t *testing.T, cri *criClient, id string) uint64 {
	t.Helper()
	status, err := cri.call("ContainerStatus", pbStr(nil, 1, id))
	if err != nil {
		t.Fatal(err)
	}
	return pbVarintField(pbBytesField(status, 1), 3)
}

// writePauseImage writes the pods' sandbox image (busybox sleeping) once per run.
func writePauseImage(t *testing.T) string {
	t.Helper()
	path := filepath.Join(base, "mycr-pause.tar")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if err := writeImageArchive(path, pauseRef, "sleep", "2147483647"); err != nil {
		t.Fatal(err)
	}
	return path
}
