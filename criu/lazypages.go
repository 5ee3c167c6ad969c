package criu

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mycr/mycr/criu/host"
)

// LazyPagesLog is the lazy-pages daemon's log, in its work dir.
const LazyPagesLog = "lazy-pages.log"

// LazyPagesOpts configures StartLazyPages.
type LazyPagesOpts struct {
	Binary    string // "" = criu in PATH
	ImagesDir string // the restore's images (the pages, unless a page server serves them)
	WorkDir   string // socket and log; "" = ImagesDir
	// Address and Port name a page server to fetch the pages from; Port 0 =
	// read them from ImagesDir (a local lazy restore).
	Address string
	Port    int
	// Stall is the watchdog's limit (<= 0: StallTimeout()): a daemon whose log
	// and ProgressDirs do not grow that long is killed, as every CRIU run.
	Stall        time.Duration
	ProgressDirs []string
	// Outlive: once Release is called, the daemon goes on if mycr dies (a
	// local restore's pages come from the images, not through mycr); before
	// that, mycr's death kills it. Without Outlive it always dies with mycr.
	Outlive bool
	// KillFirst are cgroup dirs whose processes the waiter kills before the
	// daemon when mycr dies before Release: a restore that did not complete
	// must not run on without its pages.
	KillFirst []string
}

// LazyPages is a running `criu lazy-pages`: it serves the restored processes'
// page faults and fills the rest of their memory in the background, and
// exits 0 once every page is in.
type LazyPages struct {
	cmd     *exec.Cmd
	logPath string
	ready   *os.File      // read end of its status fd
	exited  chan struct{} // closed when it has exited; then Err is set
	err     error
	stderr  bytes.Buffer
	killMu  sync.Mutex
	stalled *StallError // set when the watchdog killed it
	guard   *os.File    // Outlive: the pipe to the waiter that kills it if mycr dies first
	marker  string      // Outlive: while it exists, the waiter kills it
}

// daemonTellsWaiter runs as the Outlive daemon's first program: it writes
// "d PID" to the waiter (fd 4), closes it and execs criu ($0) as that pid.
const daemonTellsWaiter = `echo "d $$" >&4 || exit 1; exec 4>&-; exec "$0" "$@"`

// StartLazyPages starts the daemon. It dies with mycr (SIGKILL on parent
// death): without it the restored processes would wait for pages forever.
func StartLazyPages(o LazyPagesOpts) (*LazyPages, error) {
	bin := o.Binary
	if bin == "" {
		bin = "criu"
	}
	if o.WorkDir == "" {
		o.WorkDir = o.ImagesDir
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	d := &LazyPages{ready: r, exited: make(chan struct{}), logPath: filepath.Join(o.WorkDir, LazyPagesLog)}
	args := []string{"lazy-pages"}
	if o.Port != 0 {
		args = append(args, "--page-server", "--address", o.Address, "--port", strconv.Itoa(o.Port))
	}
	args = append(args, "--images-dir", o.ImagesDir, "--work-dir", o.WorkDir, "--log-file", LazyPagesLog, "-v4", "--status-fd", "3")
	d.cmd = exec.Command(bin, args...)
	d.cmd.Dir = o.WorkDir
	// Not the run's CRIU_CONFIG_FILE: it holds restore-only options
	// (inherit-fd, externals) that `criu lazy-pages` refuses.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, host.EnvConfigFile+"=") {
			d.cmd.Env = append(d.cmd.Env, kv)
		}
	}
	d.cmd.ExtraFiles = []*os.File{w}
	d.cmd.Stderr = &d.stderr
	// Its own process group, which Kill ends with it (see lazyWaiter).
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if o.Outlive {
		// Its own session: a terminal's Ctrl-C for mycr is not for it.
		d.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		// The waiter first: from the daemon's start on, mycr's death kills it.
		if err := d.startWaiter(o.KillFirst); err != nil {
			r.Close()
			w.Close()
			return nil, err
		}
		// The daemon tells the waiter its pid itself, before it becomes criu:
		// a mycr killed while starting it cannot leave it unknown to the waiter.
		d.cmd.Args = append([]string{"/bin/sh", "-c", daemonTellsWaiter, d.cmd.Path}, args...)
		d.cmd.Path = "/bin/sh"
		d.cmd.ExtraFiles = append(d.cmd.ExtraFiles, d.guard)
	}
	started := make(chan error, 1)
	go func() {
		// Pdeathsig follows the thread that started the child: keep it alive.
		goruntime.LockOSThread()
		defer goruntime.UnlockOSThread()
		if err := d.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		err := d.cmd.Wait()
		if err != nil && d.stderr.Len() > 0 {
			err = fmt.Errorf("%w: %s", err, stderrLine(d.stderr.String()))
		}
		d.killMu.Lock()
		if d.stalled != nil {
			d.stalled.Err = err
			err = d.stalled
		}
		d.killMu.Unlock()
		d.err = err
		close(d.exited)
	}()
	err = <-started
	w.Close()
	if err != nil {
		r.Close()
		d.Release() // dismisses the waiter
		return nil, fmt.Errorf("start criu lazy-pages: %w", err)
	}
	go d.watch(o.Stall, append([]string{o.WorkDir}, o.ProgressDirs...))
	return d, nil
}

func (d *LazyPages) startWaiter(killFirst []string) error {
	d.marker = filepath.Join(d.cmd.Dir, "lazy-pages.restoring")
	guard, err := startLazyWaiter(d.marker, killFirst)
	if err != nil {
		return err
	}
	d.guard = guard
	return nil
}

// KillFirst adds cgroup dirs to LazyPagesOpts.KillFirst of an Outlive daemon
// started before they were known (the daemon starts while the container is
// still being created): their processes are killed if mycr dies before Release.
func (d *LazyPages) KillFirst(dirs []string) error {
	for _, dir := range dirs {
		if !filepath.IsAbs(dir) || strings.ContainsAny(dir, "\n") {
			return fmt.Errorf("cgroup dir %q cannot be handed to the lazy-pages waiter", dir)
		}
		if err := d.tellWaiter(dir); err != nil {
			return err
		}
	}
	return nil
}

// tellWaiter writes a line to the waiter.
func (d *LazyPages) tellWaiter(line string) error {
	d.killMu.Lock()
	defer d.killMu.Unlock()
	if d.guard == nil {
		return errors.New("the lazy-pages daemon has no waiter (not Outlive, or released)")
	}
	if _, err := d.guard.WriteString(line + "\n"); err != nil {
		return fmt.Errorf("tell the lazy-pages daemon's waiter: %w", err)
	}
	return nil
}

// Release lets an Outlive daemon go on if mycr dies from now on.
func (d *LazyPages) Release() {
	d.killMu.Lock()
	defer d.killMu.Unlock()
	if d.marker != "" {
		os.Remove(d.marker)
	}
	if d.guard != nil {
		d.guard.Close()
		d.guard = nil
	}
}

// watch kills the daemon when neither its log nor the progress dirs grew for stall.
func (d *LazyPages) watch(stall time.Duration, dirs []string) {
	if stall <= 0 {
		stall = StallTimeout()
	}
	tick := time.NewTicker(min(max(stall/10, 20*time.Millisecond), time.Second))
	defer tick.Stop()
	last, lastChange := measure(d.logPath, dirs, nil), time.Now()
	for {
		select {
		case <-d.exited:
			return
		case <-tick.C:
		}
		now := measure(d.logPath, dirs, nil)
		runaway := now.logSize > maxLogSize
		if now != last && !runaway {
			last, lastChange = now, time.Now()
			continue
		}
		if !runaway && time.Since(lastChange) < stall {
			continue
		}
		d.killMu.Lock()
		d.stalled = &StallError{Stall: stall, LogPath: d.logPath, LastLine: lastLogLine(d.logPath),
			Runaway: runaway, Killed: []int{d.cmd.Process.Pid}}
		d.killMu.Unlock()
		d.Kill()
		return
	}
}

// Pid is the daemon's pid.
func (d *LazyPages) Pid() int { return d.cmd.Process.Pid }

// LogPath is the daemon's log.
func (d *LazyPages) LogPath() string { return d.logPath }

// Exited is closed once the daemon has exited; Err then says how.
func (d *LazyPages) Exited() <-chan struct{} { return d.exited }

// Err is the daemon's exit (nil: it had every page in and exited 0); only
// meaningful once Exited is closed.
func (d *LazyPages) Err() error {
	select {
	case <-d.exited:
		return d.err
	default:
		return nil
	}
}

// WaitReady waits until the daemon listens for the restore.
func (d *LazyPages) WaitReady(limit time.Duration, cancel <-chan struct{}) error {
	ok := make(chan bool, 1)
	go func() {
		b := make([]byte, 1)
		n, _ := d.ready.Read(b)
		ok <- n == 1
	}()
	defer d.ready.Close()
	select {
	case good := <-ok:
		if good {
			return nil
		}
		select {
		case <-d.exited:
			return fmt.Errorf("criu lazy-pages failed to start: %v (log %s)", d.err, d.logPath)
		case <-time.After(5 * time.Second):
			return errors.New("criu lazy-pages closed its status fd without becoming ready")
		}
	case <-time.After(limit):
		return fmt.Errorf("criu lazy-pages not ready after %v (log %s)", limit, d.logPath)
	case <-cancel:
		return errors.New("interrupted while criu lazy-pages was starting")
	}
}

// Kill stops the daemon (if still running) and waits for it.
func (d *LazyPages) Kill() {
	defer d.Release()
	select {
	case <-d.exited:
		return
	default:
	}
	_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL) // with a CRIU probe child
	_ = d.cmd.Process.Kill()
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
	}
}

// stderrLine is the first line of a daemon's stderr, for its error.
func stderrLine(s string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return first
}
