package criu

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gocriu "github.com/checkpoint-restore/go-criu/v7"
	"github.com/checkpoint-restore/go-criu/v7/rpc"
	"google.golang.org/protobuf/proto"

	"github.com/mycr/mycr/criu/host"
)

func TestStallTimeout(t *testing.T) {
	for v, want := range map[string]time.Duration{
		"": DefaultStallTimeout, "90s": 90 * time.Second, "2m": 2 * time.Minute,
		"junk": DefaultStallTimeout, "-5s": DefaultStallTimeout,
	} {
		t.Setenv(EnvTimeout, v)
		if got := StallTimeout(); got != want {
			t.Errorf("%s=%q: got %v, want %v", EnvTimeout, v, got, want)
		}
	}
}

func TestWatchReturnsFnError(t *testing.T) {
	want := errors.New("boom")
	if err := Watch(filepath.Join(t.TempDir(), "none.log"), nil, time.Second, func() error { return want }); err != want {
		t.Fatalf("got %v", err)
	}
}

// A slow but progressing run must not be killed.
func TestWatchToleratesProgress(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "x.log")
	err := Watch(log, []string{dir}, 300*time.Millisecond, func() error {
		f, err := os.Create(log)
		if err != nil {
			return err
		}
		defer f.Close()
		for i := 0; i < 15; i++ { // 1.5s in total, 5x the stall timeout
			f.WriteString("line\n")
			time.Sleep(100 * time.Millisecond)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A lazy dump's page server logs nothing while it serves pages: the bytes it
// served (count) keep it alive, and once they stop the watchdog fires.
func TestWatchCountsServedBytes(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "dump.log")
	var served atomic.Int64
	count := func() int64 { return served.Load() }
	err := WatchCounting(log, []string{dir}, count, 300*time.Millisecond, func() error {
		for i := 0; i < 15; i++ { // 1.5 s, 5x the stall timeout, with a silent log
			served.Add(4096)
			time.Sleep(100 * time.Millisecond)
		}
		return nil
	}, nil)
	if err != nil {
		t.Fatalf("a dump that serves pages was taken as stalled: %v", err)
	}
	err = WatchCounting(log, []string{dir}, count, 300*time.Millisecond, func() error {
		time.Sleep(1500 * time.Millisecond)
		return nil
	}, nil)
	if !errors.Is(err, ErrStalled) {
		t.Fatalf("no bytes served and a silent log: %v, want the watchdog's stall", err)
	}
}

// A real `criu dump` stuck in the middle of dumping (parasite injected into
// the target, criu blocked opening its pagemap image, which is a FIFO nobody
// reads) must be killed by the watchdog, and the target must live on.
//
// Observed with CRIU 4.2.1 on kernel 6.18 (also when killed in the same
// phase via SIGSTOP+SIGKILL, and with --freeze-cgroup on a v1 freezer):
//   - the target keeps running: the kernel detaches the tracees when criu
//     dies, and the parasite, seeing its control socket closed ("Trimmed
//     message received"), rt_sigreturn()s to the original code. TracerPid
//     is 0 and the state is not t/T, so nothing needs resuming at the
//     process level;
//   - the parasite's memory stays mapped in the target as
//     "/memfd:CRIUMFD (deleted)" (~11 MB for a Go process): harmless, gone
//     when the process exits, but included in a later checkpoint;
//   - a v1 freezer cgroup was THAWED: CRIU thaws right after seizing the
//     tasks; only a kill during the freeze step itself leaves it FROZEN.
func TestWatchKillsStalledCriuDump(t *testing.T) {
	bin := needCriu(t)
	dir, logDir := t.TempDir(), t.TempDir()
	counter := filepath.Join(t.TempDir(), "count")
	target := startHelper(t, "counter", counter).Process.Pid
	if err := syscall.Mkfifo(filepath.Join(dir, "pagemap-"+strconv.Itoa(target)+".img"), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(logDir, "dump.log")
	stall := 2 * time.Second
	start := time.Now()
	err := Watch(logPath, []string{dir}, stall, func() error {
		_, err := criuDump(bin, target, dir, logDir)
		return err
	})
	took := time.Since(start)
	var se *StallError
	if !errors.Is(err, ErrStalled) || !errors.As(err, &se) || len(se.Killed) == 0 {
		t.Fatalf("want a stall with criu killed, got %v", err)
	}
	if took > stall+3*time.Second {
		t.Errorf("watchdog took %v for a %v stall timeout", took, stall)
	}
	if !strings.Contains(err.Error(), "signal: killed") || !strings.Contains(err.Error(), logPath) {
		t.Errorf("error lacks criu's own error or the log path: %v", err)
	}
	t.Logf("watchdog: %v (after %v)", err, took.Round(time.Millisecond))
	if left := criuProcs(os.Getpid(), criuBinary()); len(left) != 0 {
		t.Errorf("criu processes left: %+v", left)
	}

	// The dumped process is alive, untraced, running.
	time.Sleep(300 * time.Millisecond)
	if tp := procField(target, "TracerPid"); tp != "0" {
		t.Errorf("target still traced by %s", tp)
	}
	if st := procField(target, "State"); st == "" || st[0] == 't' || st[0] == 'T' || st[0] == 'Z' {
		t.Errorf("target state %q", st)
	}
	before, _ := os.ReadFile(counter)
	time.Sleep(300 * time.Millisecond)
	after, _ := os.ReadFile(counter)
	if string(before) == string(after) {
		t.Errorf("target stopped making progress (counter %s)", before)
	}
	if maps, _ := os.ReadFile("/proc/" + strconv.Itoa(target) + "/maps"); strings.Contains(string(maps), "CRIUMFD") {
		t.Logf("as documented: the parasite mapping /memfd:CRIUMFD stays in the target")
	}
	if StalledAtBreakpoint(logPath) {
		t.Errorf("a FIFO stall must not look like the breakpoint hang; log ends %q", criuTail(logPath, 3))
	}
}

// The probe must predict what CRIU itself does: with breakpoints "works" a
// dump without CRIU_FAULT completes; with "broken" it hangs at the
// breakpoint until the watchdog kills it.
func TestProbeAgreesWithCRIUDump(t *testing.T) {
	bin := needCriu(t)
	unsetEnv(t, "CRIU_FAULT")
	hw, err := host.ProbeHWBreakpoints()
	if err != nil || hw == host.HWUnknown {
		t.Skipf("probe: %s %v", hw, err)
	}
	dir, logDir := t.TempDir(), t.TempDir()
	target := startHelper(t, "counter", filepath.Join(t.TempDir(), "count")).Process.Pid
	var logPath string
	err = Watch(filepath.Join(logDir, "dump.log"), []string{dir}, 10*time.Second, func() (err error) {
		logPath, err = criuDump(bin, target, dir, logDir)
		return err
	})
	switch hw {
	case host.HWWorks:
		if err != nil {
			t.Fatalf("probe says breakpoints work, but the dump failed: %v", Explain(err, logPath))
		}
	case host.HWBroken:
		// CRIU >= 4.2 probes breakpoints itself (kerndat) and, when its probe
		// agrees, goes without them; where its probe is fooled it hangs.
		if err == nil && criuSkippedBreakpoints(logPath) {
			break
		}
		if !errors.Is(err, ErrStalled) || !StalledAtBreakpoint(logPath) {
			t.Fatalf("probe says breakpoints are broken, but the dump did not hang at the breakpoint: %v", err)
		}
	}
	t.Logf("probe %q agrees with criu dump", hw)
}

// criuSkippedBreakpoints: CRIU's own probe found no working breakpoints and
// it cured the parasite without them.
func criuSkippedBreakpoints(logPath string) bool {
	b, _ := os.ReadFile(logPath)
	return strings.Contains(string(b), "Force no-breakpoints")
}

// The same stall through `criu swrk` and its RPC socket, which is how
// libcontainer runs CRIU: after the kill the client must get its error
// (EOF on the socket) instead of waiting forever.
func TestWatchKillsStalledSwrk(t *testing.T) {
	bin := needCriu(t)
	unsetEnv(t, "CRIU_FAULT")
	dir := t.TempDir()
	target := startHelper(t, "sleep").Process.Pid
	if err := syscall.Mkfifo(filepath.Join(dir, "pagemap-"+strconv.Itoa(target)+".img"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	c := gocriu.MakeCriu()
	c.SetCriuPath(bin)
	err = Watch(filepath.Join(dir, "dump.log"), []string{dir}, 2*time.Second, func() error {
		return c.Dump(&rpc.CriuOpts{
			ImagesDirFd: proto.Int32(int32(d.Fd())), Pid: proto.Int32(int32(target)),
			LogLevel: proto.Int32(4), LogFile: proto.String("dump.log"), LeaveRunning: proto.Bool(true),
		}, gocriu.NoNotify{})
	})
	var se *StallError
	if !errors.As(err, &se) || len(se.Killed) == 0 || se.Err == nil {
		t.Fatalf("want a stall with criu killed and the RPC client's error, got %v", err)
	}
	if se.Stopped {
		t.Errorf("a criu blocked on a FIFO counted as stopped by a signal")
	}
	t.Logf("%v", err)
	if st := procField(target, "State"); procField(target, "TracerPid") != "0" || st == "" || st[0] == 't' || st[0] == 'T' {
		t.Errorf("target left traced or stopped: %s", st)
	}
}

// A restore stuck inside the task CRIU forked for the restored process
// (comm still "criu", blocked reading its pages image, a FIFO here): killing
// only the criu parent would orphan that half-restored task forever, holding
// the container's PID. Watch kills it too.
func TestWatchKillsStalledRestore(t *testing.T) {
	bin := needCriu(t)
	unsetEnv(t, "CRIU_FAULT")
	// On a busy machine CRIU now and then blocks on the FIFO before it forked
	// the task (only criu itself to kill): try again for the case under test.
	for try := 1; ; try++ {
		killed := stallRestoreOnce(t, bin)
		if killed >= 2 {
			return
		}
		if try == 3 {
			t.Fatalf("in %d tries the restore never stalled inside its forked task", try)
		}
		t.Logf("try %d: criu stalled before it forked the task; again", try)
	}
}

// stallRestoreOnce restores a dump whose pages image is a FIFO under Watch,
// checks that no task of it is left, and says how many tasks Watch killed.
func stallRestoreOnce(t *testing.T, bin string) int {
	dir := t.TempDir()
	helper := startHelper(t, "sleep")
	pid := helper.Process.Pid
	out, err := exec.Command(bin, "dump", "-t", strconv.Itoa(pid), "-D", dir, "-o", "dump.log").CombinedOutput()
	if err != nil {
		t.Fatalf("dump: %v %s", err, out)
	}
	_ = helper.Wait() // CRIU killed it; reap it so its PID is free again
	pages, _ := filepath.Glob(filepath.Join(dir, "pages-*.img"))
	if len(pages) == 0 {
		t.Fatal("no pages image")
	}
	os.Remove(pages[0])
	if err := syscall.Mkfifo(pages[0], 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "restore.log")
	err = Watch(logPath, []string{dir}, 2*time.Second, func() error {
		return exec.Command(bin, "restore", "-D", dir, "-o", "restore.log", "-v4").Run()
	})
	var se *StallError
	if !errors.As(err, &se) || len(se.Killed) == 0 {
		t.Fatalf("want criu killed by the watchdog, got %v", err)
	}
	t.Logf("%v", err)
	deadline := time.Now().Add(3 * time.Second)
	for {
		p, err := readProc(pid)
		if err != nil || p.comm != "criu" {
			break // gone (reaped by init) or the PID was reused by someone else
		}
		if time.Now().After(deadline) {
			t.Fatalf("half-restored task %d still there: %+v", pid, p)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return len(se.Killed)
}

// A run that keeps logging the same thing past maxLogSize (CRIU's restorer
// retrying a read at EOF) is killed although its log grows.
func TestWatchKillsRunawayLog(t *testing.T) {
	defer func(old int64) { maxLogSize = old }(maxLogSize)
	maxLogSize = 64 << 10
	log := filepath.Join(t.TempDir(), "restore.log")
	err := Watch(log, nil, time.Minute, func() error {
		f, err := os.Create(log)
		if err != nil {
			return err
		}
		defer f.Close()
		line := "1: Advanced iov 0 bytes, 2->2 iovs, 0 tail\n"
		for n := 0; n < 1<<20; n += len(line) { // well past the limit, not the disk
			f.WriteString(line)
		}
		time.Sleep(2 * time.Second) // the watchdog fires meanwhile
		return nil
	})
	var se *StallError
	if !errors.As(err, &se) || !se.Runaway || !errors.Is(err, ErrStalled) {
		t.Fatalf("want a runaway StallError, got %v", err)
	}
	if !strings.Contains(err.Error(), "loop") {
		t.Errorf("the error does not say CRIU looped: %v", err)
	}
}

// A criu stopped by a signal (SIGSTOP) is killed like a hung one, and the
// error says it was stopped: a log that ends at a breakpoint wait is then no
// breakpoint hang, and mycr must not retry without breakpoints.
func TestWatchSeesStoppedCriu(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep")
	}
	dir := t.TempDir()
	fake := filepath.Join(dir, "criu") // comm "criu", our child: the watchdog's to kill
	b, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fake, b, 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "dump.log")
	if err := os.WriteFile(log, []byte("(00.069829) Waiting for 13872 to trap\n(00.069831) Daemon 13872 exited trapping\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(fake, "100")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	err = Watch(log, nil, 300*time.Millisecond, func() error { return cmd.Wait() })
	var se *StallError
	if !errors.As(err, &se) || len(se.Killed) != 1 || !se.Stopped {
		t.Fatalf("want a stall with the stopped criu killed and seen as stopped, got %v (%+v)", err, se)
	}
	if HungAtBreakpoint(err, log) {
		t.Errorf("a stopped criu was taken for a breakpoint hang")
	}
}
