package integration

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

var (
	unixprogOnce sync.Once
	unixprogBin  string
	unixprogErr  error
)

// unixprog builds testdata/unixprog (static) once.
func unixprog(t *testing.T) string {
	t.Helper()
	unixprogOnce.Do(func() {
		unixprogBin = filepath.Join(runTmp, "unixprog") // removed with the run's temp dir
		unixprogErr = goBuild(unixprogBin, "./integration/testdata/unixprog", true)
	})
	if unixprogErr != nil {
		t.Fatalf("building the unix socket test program: %v", unixprogErr)
	}
	return unixprogBin
}

// TestCheckpointExternalUnixSocket: the container (in the host's network
// namespace) talks over a unix datagram socket to a socket the host bound (in
// the shared volume): CRIU refuses to dump it without --ext-unix-sk. Each checkpoint fails naming the socket and the
// flag; the container keeps running unfrozen and still sends; with
// --ext-unix-sk the same container checkpoints.
func TestCheckpointExternalUnixSocket(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	prog := unixprog(t)
	c := &Counter{ID: e.ID("extunix"), Vol: e.Mkdir("vol")}
	c.Count = filepath.Join(c.Vol, "count")
	host, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(c.Vol, "sock"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Close() })
	var received sync.WaitGroup // drained, or the container blocks on a full socket
	received.Add(1)
	got := make(chan struct{}, 1)
	go func() {
		defer received.Done()
		buf := make([]byte, 64)
		for {
			if _, err := host.Read(buf); err != nil {
				return
			}
			select {
			case got <- struct{}{}:
			default:
			}
		}
	}()
	// In the host's network namespace, as CRIU must see the peer to treat it as
	// external (from a netns of its own, see TestCheckpointSocketStdio).
	c.Bundle = e.NewBundle(Args("/bin/unixprog"), Bind(c.Vol, "/out"), Edit(hostNetwork))
	if err := copyFile(prog, filepath.Join(c.Bundle, "rootfs/bin/unixprog")); err != nil {
		t.Fatal(err)
	}
	e.MustRun("run", "-d", "--bundle", c.Bundle, c.ID)
	c.Pid = e.WaitStatus(c.ID, "running", 5*time.Second).Pid
	WaitCounterAbove(t, c.Count, 2, 5*time.Second)
	outcomes := map[string]int{}
	for i := 0; i < faultTrials(); i++ {
		before := MustCounter(t, c.Count)
		img := filepath.Join(e.Dir, fmt.Sprint("img", i))
		r := e.Run("checkpoint", "--image-path", img, c.ID)
		if r.Code == 0 {
			t.Fatalf("a checkpoint with an external unix socket succeeded without --ext-unix-sk:\n%s", r)
		}
		if !strings.Contains(r.Stderr, "--ext-unix-sk") || !strings.Contains(r.Stderr, "unix socket") {
			t.Errorf("the error does not name the external unix socket and --ext-unix-sk:\n%s", r)
		}
		outcomes[e.dumpOutcome(c, r, img, before, "external unix socket")]++
	}
	<-got // drop one that may predate the checkpoints
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Errorf("no datagram from the container after the failed checkpoints")
	}
	e.Checkpoint(c.ID, filepath.Join(e.Dir, "img-ext"), "--ext-unix-sk", "--leave-running")
	e.ExpectHealthy(c, MustCounter(t, c.Count))
	logResult(t, reliabilityResult{Fault: "undumpable resource: a unix datagram socket connected to a host socket (container in the host netns), no --ext-unix-sk",
		Trials: faultTrials(), Outcomes: outcomes, Note: "with --ext-unix-sk the same container checkpoints"})
}

// hostNetwork drops the spec's network namespace: the container shares the host's.
func hostNetwork(s *specs.Spec) {
	var keep []specs.LinuxNamespace
	for _, ns := range s.Linux.Namespaces {
		if ns.Type != specs.NetworkNamespace {
			keep = append(keep, ns)
		}
	}
	s.Linux.Namespaces = keep
}

// TestCheckpointSocketStdio: the container's stdout is one end of a socketpair
// whose other end the host holds. CRIU cannot even find that socket from the
// container's network namespace (with or without --ext-unix-sk); the checkpoint
// fails saying so, and the container keeps running.
func TestCheckpointSocketStdio(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	c := startSocketStdoutCounter(t, e, "sockstdio", countAndPrint("echo $i"))
	outcomes := map[string]int{}
	trials := faultTrials()
	for i := 0; i < trials; i++ {
		before := MustCounter(t, c.Count)
		img := filepath.Join(e.Dir, fmt.Sprint("img", i))
		flags := []string{"checkpoint", "--image-path", img}
		if i%2 == 1 {
			flags = append(flags, "--ext-unix-sk")
		}
		r := e.Run(append(flags, c.ID)...)
		if r.Code == 0 {
			t.Fatalf("a checkpoint of a container whose stdout is a host socket succeeded:\n%s", r)
		}
		if !strings.Contains(r.Stderr, "hint: ") || !strings.Contains(r.Stderr, "unix socket") {
			t.Errorf("the error gives no hint about the host socket:\n%s", r)
		}
		outcomes[e.dumpOutcome(c, r, img, before, "stdout is a host socket")]++
	}
	logResult(t, reliabilityResult{Fault: "undumpable resource: stdout is a socketpair end held by the host (with and without --ext-unix-sk)",
		Trials: trials, Outcomes: outcomes})
}
