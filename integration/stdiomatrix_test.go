package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStdioMatrix: for every kind of stdio a person gives a container (pipe,
// file, /dev/null, a pty over --console-socket, the terminal mycr runs in),
// with and without --leave-running: run, checkpoint, restore, checkpoint again,
// restore again, each time with a fresh stdio of the same kind. The container
// keeps counting and its output lands in the stdio of the last restore.
func TestStdioMatrix(t *testing.T) {
	requireCRIU(t)
	for _, kind := range stdioKinds {
		for _, leave := range []bool{false, true} {
			mode := "dump"
			if leave {
				mode = "leave-running"
			}
			t.Run(kind.name+"/"+mode, func(t *testing.T) {
				t.Parallel()
				stdioCycles(t, kind, kind, leave, 2)
			})
		}
	}
}

// TestStdioMixedKinds: the stdio of each restore differs from the one before
// (any order of repeated checkpoint and restore).
func TestStdioMixedKinds(t *testing.T) {
	requireCRIU(t)
	kinds := map[string]stdioKind{}
	for _, k := range stdioKinds {
		kinds[k.name] = k
	}
	for _, seq := range [][]string{
		{"file", "devnull", "pipe", "terminal", "terminal"},
		{"devnull", "file", "pipe", "file"},
	} {
		t.Run(strings.Join(seq, "-"), func(t *testing.T) {
			t.Parallel()
			ks := make([]stdioKind, len(seq))
			for i, n := range seq {
				ks[i] = kinds[n]
			}
			stdioCycles(t, ks[0], ks[1], false, len(ks)-1, ks[2:]...)
		})
	}
}

// stdioCycles runs a counter with stdio of kind first, then checkpoints and
// restores it cycles times, the first restore onto kind next, later ones onto
// more[i] (or next again), logging the outcome for docs/reliability.md.
func stdioCycles(t *testing.T, first, next stdioKind, leave bool, cycles int, more ...stdioKind) {
	e := NewEnv(t)
	step := "run"
	ok := 0
	defer func() {
		outcomes := map[string]int{"counted on into the last restore's stdio": ok}
		if t.Failed() {
			outcomes["failed at "+step] = 1
		}
		mode := "checkpoint"
		if leave {
			mode = "checkpoint --leave-running"
		}
		logResult(t, reliabilityResult{Fault: fmt.Sprintf("stdio %s, then %s (%s)", first.name, next.name, mode),
			Trials: cycles, Outcomes: outcomes})
	}()
	var opts []BundleOpt
	if first.terminal {
		opts = append(opts, Terminal())
	}
	bundle, count := e.counterBundle(stdioScript, opts...)
	// Unique among the parallel cells: the ID names the container's cgroup.
	id := e.ID(strings.NewReplacer("/", "-", "TestStdio", "").Replace(t.Name()))
	sink := first.open(t, e)
	if r := sink.run(e, append(append([]string{"run", "-d"}, sink.args()...), "--bundle", bundle, id)...); r.Code != 0 {
		t.Fatalf("run -d with %s stdio: %v", first.name, r)
	}
	sink.started(t)
	pid := e.WaitStatus(id, "running", defaultTimeout).Pid
	expectCounting(t, sink, count, 0)

	for i := 1; i <= cycles; i++ {
		kind := next
		if i >= 2 && len(more) >= i-1 {
			kind = more[i-2]
		}
		if kind.terminal != first.terminal {
			t.Fatalf("bad test: %s cannot follow %s (config.json's terminal differs)", kind.name, first.name)
		}
		step = fmt.Sprintf("checkpoint %d", i)
		before := readCounterNow(t, count)
		img := filepath.Join(e.Dir, fmt.Sprintf("image%d", i))
		flags := []string{}
		if leave {
			flags = append(flags, "--leave-running")
		}
		if r := e.Run(append(append([]string{"checkpoint"}, flags...), "--image-path", img, id)...); r.Code != 0 {
			t.Fatalf("checkpoint %d of a container with %s stdio: %v", i, sink.kind, r)
		}
		if leave {
			e.ExpectRunningNotPaused(id, pid)
			expectCounting(t, sink, count, sink.max())
			e.MustRun("delete", "-f", id)
		}
		WaitPidGone(t, pid, defaultTimeout)
		stopped := readCounterNow(t, count)
		old := sink

		step = fmt.Sprintf("restore %d onto %s", i, kind.name)
		sink = kind.open(t, e)
		r := sink.run(e, append(append([]string{"restore", "-d"}, sink.args()...), "--bundle", bundle, "--image-path", img, id)...)
		if r.Code != 0 {
			log, _ := os.ReadFile(filepath.Join(img, "restore.log"))
			t.Fatalf("restore %d onto %s stdio: %v\nits stdio got: %s\nrestore.log errors: %s", i, kind.name, r, sink.text(), errorLines(string(log)))
		}
		sink.started(t)
		pid = e.ExpectStatus(id, "running").Pid
		if got := stdoutTarget(pid); kind.name == "devnull" && got != os.DevNull {
			t.Errorf("restore %d onto /dev/null: the container's stdout is %q", i, got)
		}
		expectCounting(t, sink, count, stopped)
		// The restored count goes on from the checkpoint (with --leave-running
		// the original counted on until it was deleted).
		if nums := sink.numbers(); len(nums) > 0 && nums[0] < before {
			t.Errorf("restore %d: the %s stdio starts at %d, below %d where the checkpoint began: the count started over", i, kind.name, nums[0], before)
		}
		if m := old.max(); m > stopped {
			t.Errorf("restore %d: the previous %s stdio received %d after the count stopped at %d", i, old.kind, m, stopped)
		}
		ok++
	}
	// Each run's CRIU configuration (externals naming this container's stdio)
	// is removed after it: the state root does not fill up per container.
	if left, _ := filepath.Glob(filepath.Join(e.Root, "criu-*-ext-*.conf")); len(left) > 0 {
		t.Errorf("CRIU configuration files left in the state root: %v", left)
	}
}

// expectCounting waits until the counter passes above+5 and, where the sink
// keeps output, the same numbers arrive in it (for /dev/null: the process's
// stdout is /dev/null).
func expectCounting(t *testing.T, sink *stdioSink, count string, above int) {
	t.Helper()
	WaitCounterAbove(t, count, above+5, defaultTimeout)
	if !sink.observable() {
		return
	}
	waitFor(t, defaultTimeout, fmt.Sprintf("numbers above %d on the %s stdio", above+5, sink.kind), func() (bool, string) {
		return sink.max() > above+5, fmt.Sprintf("last %d", sink.max())
	})
}

// readCounterNow reads the counter file, retrying a read caught between its
// truncation and write.
func readCounterNow(t *testing.T, path string) int {
	t.Helper()
	var n int
	waitFor(t, defaultTimeout, "a number in "+path, func() (bool, string) {
		var err error
		n, err = ReadCounter(path)
		return err == nil, fmt.Sprint(err)
	})
	return n
}

// errorLines are the lines of a CRIU log that report errors.
func errorLines(log string) string {
	var errs []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "Error") {
			errs = append(errs, l)
		}
	}
	return strings.Join(errs, "\n")
}

// stdoutTarget is where pid's stdout points.
func stdoutTarget(pid int) string {
	l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/1", pid))
	return l
}
