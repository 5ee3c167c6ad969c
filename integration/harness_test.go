package integration

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// defaultTimeout bounds one mycr command; checkpoint and restore are the slow ones.
const defaultTimeout = 90 * time.Second

// Env is one test's world: its own --root, a scratch dir for bundles, images and
// volumes, and a record of the containers, processes and cgroups it made, all
// cleaned up when the test ends.
type Env struct {
	t    *testing.T
	Root string // --root of every command
	Dir  string // scratch: bundles, images, volumes

	mu      sync.Mutex
	n       int
	ids     []string
	procs   map[int]procID  // container processes seen through state
	cgroups map[string]bool // host cgroup dirs those processes were in
	procsMu sync.Mutex
	running []*Proc // commands started and not yet waited for
}

// procID identifies a process across pid reuse.
type procID struct {
	container string
	start     string // starttime field of /proc/PID/stat
}

// NewEnv makes an Env whose containers are force-deleted when the test ends.
func NewEnv(t *testing.T) *Env {
	t.Helper()
	e := &Env{
		t:       t,
		Dir:     t.TempDir(),
		Root:    t.TempDir(),
		procs:   map[int]procID{},
		cgroups: map[string]bool{},
	}
	// Registered after the TempDirs, so it runs before they are removed.
	t.Cleanup(e.cleanup)
	return e
}

// ID returns a container id unique to this run and test, and remembers it for cleanup.
func (e *Env) ID(name string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	id := fmt.Sprintf("%s-%s%d", runID, name, e.n)
	e.ids = append(e.ids, id)
	return id
}

// Mkdir makes a fresh directory under the scratch dir.
func (e *Env) Mkdir(name string) string {
	e.t.Helper()
	d, err := os.MkdirTemp(e.Dir, name+"-")
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// Result is what a finished command did.
type Result struct {
	Args   []string
	Code   int // exit status; -1 if it was killed or did not start
	Err    error
	Stdout string
	Stderr string
	Dur    time.Duration
	// Out and ErrOut keep receiving whatever is still written to the command's
	// stdout/stderr: a detached container inherits them.
	Out, ErrOut *Stream
}

func (r Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "`%s %s` exited %d after %v", progName, strings.Join(quoteArgs(r.Args), " "), r.Code, r.Dur.Round(time.Millisecond))
	if r.Err != nil {
		fmt.Fprintf(&b, " (%v)", r.Err)
	}
	fmt.Fprintf(&b, "\n  stdout: %q\n  stderr: %q", clip(r.Stdout), clip(r.Stderr))
	return b.String()
}

func clip(s string) string {
	if len(s) > 4000 {
		return s[:2000] + "\n...\n" + s[len(s)-2000:]
	}
	return s
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " '\"$;") {
			out[i] = fmt.Sprintf("%q", a)
		} else {
			out[i] = a
		}
	}
	return out
}

// Proc is a started mycr command.
type Proc struct {
	e       *Env
	cmd     *exec.Cmd
	args    []string
	start   time.Time
	end     time.Time
	Stdin   *os.File // write end of the command's stdin; nil if closed
	Out     *Stream
	ErrOut  *Stream
	done    chan struct{}
	waitErr error
	once    sync.Once
	res     Result
}

// Stdio chooses what a command gets as stdin/stdout/stderr. Zero fields get fresh
// pipes the harness drains (stdin: a pipe whose write end is closed at once, so a
// reader sees EOF). Pipes matter: CRIU can hand a container's pipes over to a
// restored one, not files outside its mount namespace.
type Stdio struct {
	KeepStdin bool // leave Proc.Stdin open for the test to write to
}

// globals are the global flags every command gets before the subcommand.
func (e *Env) globals() []string {
	g := []string{"--root", e.Root}
	if c := os.Getenv("MYCR_CRIU"); c != "" {
		g = append(g, "--criu", c)
	}
	return g
}

// Start runs `mycr --root R args...` without waiting for it.
func (e *Env) Start(io Stdio, args ...string) *Proc {
	e.t.Helper()
	return e.start(io, nil, args...)
}

// start is Start with adjust (if not nil) changing the command before it starts.
func (e *Env) start(io Stdio, adjust func(*exec.Cmd), args ...string) *Proc {
	e.t.Helper()
	full := append(e.globals(), args...)
	cmd := exec.Command(mycrBin, full...)
	inR, inW, err := os.Pipe()
	if err != nil {
		e.t.Fatal(err)
	}
	out, outW := newStream(e.t)
	errS, errW := newStream(e.t)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	if adjust != nil {
		adjust(cmd)
	}
	p := &Proc{e: e, cmd: cmd, args: args, Out: out, ErrOut: errS, done: make(chan struct{})}
	p.start = time.Now()
	startErr := cmd.Start()
	inR.Close()
	outW.Close()
	errW.Close()
	if startErr != nil {
		inW.Close()
		e.t.Fatalf("starting %s: %v", mycrBin, startErr)
	}
	if io.KeepStdin {
		p.Stdin = inW
		e.t.Cleanup(func() { inW.Close() })
	} else {
		inW.Close()
	}
	go func() {
		p.waitErr = cmd.Wait()
		p.end = time.Now()
		close(p.done)
	}()
	e.procsMu.Lock()
	e.running = append(e.running, p)
	e.procsMu.Unlock()
	return p
}

// Exited reports whether the command has finished.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Pid is the mycr process's pid.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Wait waits up to timeout for the command, killing it (by its pid) if it does not
// finish, and returns what it did. Output is whatever arrived by the time both pipes
// hit EOF, or shortly after exit when a detached container keeps them open.
func (p *Proc) Wait(timeout time.Duration) Result {
	p.once.Do(func() {
		var timedOut bool
		select {
		case <-p.done:
		case <-time.After(timeout):
			timedOut = true
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		r := Result{Args: p.args, Dur: p.end.Sub(p.start), Out: p.Out, ErrOut: p.ErrOut}
		var ee *exec.ExitError
		switch {
		case timedOut:
			r.Code, r.Err = -1, fmt.Errorf("timed out after %v and was killed", timeout)
		case p.waitErr == nil:
		case errors.As(p.waitErr, &ee):
			r.Code = ee.ExitCode()
			if st, ok := ee.Sys().(syscall.WaitStatus); ok && st.Signaled() {
				r.Err = fmt.Errorf("killed by signal %v", st.Signal())
			}
		default:
			r.Code, r.Err = -1, p.waitErr
		}
		// Give the drainers a moment to pick up the last writes.
		deadline := time.Now().Add(300 * time.Millisecond)
		for time.Now().Before(deadline) && !(p.Out.EOF() && p.ErrOut.EOF()) {
			time.Sleep(10 * time.Millisecond)
		}
		r.Stdout, r.Stderr = p.Out.String(), p.ErrOut.String()
		p.res = r
		if testing.Verbose() {
			p.e.t.Logf("%s %s -> %d (%v)", progName, strings.Join(quoteArgs(p.args), " "), r.Code, r.Dur.Round(time.Millisecond))
		}
	})
	return p.res
}

// Run runs a command to completion (defaultTimeout).
func (e *Env) Run(args ...string) Result {
	e.t.Helper()
	return e.Start(Stdio{}, args...).Wait(defaultTimeout)
}

// RunT runs a command with its own timeout.
func (e *Env) RunT(timeout time.Duration, args ...string) Result {
	e.t.Helper()
	return e.Start(Stdio{}, args...).Wait(timeout)
}

// MustRun runs a command and fails the test unless it exits 0.
func (e *Env) MustRun(args ...string) Result {
	e.t.Helper()
	r := e.Run(args...)
	if r.Code != 0 || r.Err != nil {
		e.t.Fatalf("command failed:\n%s", r)
	}
	return r
}

// MustFail runs a command that must exit non-zero, and returns its result.
func (e *Env) MustFail(args ...string) Result {
	e.t.Helper()
	r := e.Run(args...)
	if r.Code == 0 {
		e.t.Fatalf("command succeeded, expected a failure:\n%s", r)
	}
	if r.Code < 0 {
		e.t.Fatalf("command did not exit by itself:\n%s", r)
	}
	return r
}

// remember records a container process and its cgroups for the leak checks at cleanup.
func (e *Env) remember(id string, pid int) {
	st := procStart(pid)
	if st == "" {
		return
	}
	cgs := procCgroupDirs(pid)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.procs[pid] = procID{container: id, start: st}
	for _, c := range cgs {
		// Only cgroups named after our container: never touch anything else.
		if strings.Contains(c, id) {
			e.cgroups[c] = true
		}
	}
}

// cleanup force-deletes every container of the test, then checks nothing leaked:
// processes it saw are killed (by pid, if still the same process) and reported, and
// so are cgroup directories left behind.
func (e *Env) cleanup() {
	t := e.t
	e.mu.Lock()
	ids := append([]string(nil), e.ids...)
	e.mu.Unlock()
	seen := map[string]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	if r := e.RunT(30*time.Second, "list", "--format", "json"); r.Code == 0 {
		var l []ListEntry
		if json.Unmarshal([]byte(r.Stdout), &l) == nil {
			for _, c := range l {
				if !seen[c.ID] {
					ids = append(ids, c.ID)
					seen[c.ID] = true
				}
			}
		}
	}
	for _, id := range ids {
		r := e.RunT(30*time.Second, "delete", "--force", id)
		if r.Code != 0 && !strings.Contains(r.Stderr, "does not exist") {
			t.Errorf("cleanup: %s", r)
		}
	}
	// Commands still running (e.g. a foreground restore) are ours: kill them by pid.
	e.procsMu.Lock()
	running := append([]*Proc(nil), e.running...)
	e.procsMu.Unlock()
	for _, p := range running {
		if !p.Exited() {
			select {
			case <-p.done:
			case <-time.After(5 * time.Second):
				t.Logf("cleanup: %s %v still running 5s after delete; killing pid %d", progName, p.args, p.Pid())
				_ = p.cmd.Process.Kill()
				<-p.done
			}
		}
	}
	e.mu.Lock()
	procs := e.procs
	cgs := e.cgroups
	e.mu.Unlock()
	for pid, id := range procs {
		if !pidAlive(pid) || procStart(pid) != id.start {
			continue
		}
		// delete --force kills asynchronously at worst; give it a moment.
		deadline := time.Now().Add(3 * time.Second)
		for time.Now().Before(deadline) && pidAlive(pid) {
			time.Sleep(50 * time.Millisecond)
		}
		if pidAlive(pid) && procStart(pid) == id.start {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("cleanup: process %d of container %s was still alive after `delete --force`; killed it", pid, id.container)
		}
	}
	for dir := range cgs {
		if _, err := os.Stat(dir); err != nil {
			continue
		}
		deadline := time.Now().Add(3 * time.Second)
		for {
			err := syscall.Rmdir(dir)
			if err == nil || errors.Is(err, os.ErrNotExist) {
				break
			}
			if time.Now().After(deadline) {
				t.Logf("cleanup: cannot remove leaked cgroup %s: %v", dir, err)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("cleanup: cgroup %s was left behind after the container was deleted (removed it)", dir)
	}
}

// procStart is the starttime field of /proc/PID/stat ("" if the process is gone).
func procStart(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19] // field 22 overall; fields after ')' start at field 3
}

// pidAlive reports whether pid exists and is not a zombie.
func pidAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return false
	}
	st := s[i+2]
	return st != 'Z' && st != 'X'
}

// procCgroupDirs lists the host cgroup v1/v2 directories pid is in.
func procCgroupDirs(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || parts[2] == "/" {
			continue
		}
		var cands []string
		if parts[1] == "" {
			cands = []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}
		} else {
			cands = append(cands, filepath.Join("/sys/fs/cgroup", parts[1]))
			for _, c := range strings.Split(parts[1], ",") {
				cands = append(cands, filepath.Join("/sys/fs/cgroup", strings.TrimPrefix(c, "name=")))
			}
		}
		for _, c := range cands {
			d := filepath.Join(c, parts[2])
			if st, err := os.Stat(d); err == nil && st.IsDir() {
				out = append(out, d)
				break
			}
		}
	}
	return out
}
