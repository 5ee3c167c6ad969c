package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The bench is a child subreaper: container inits whose runtime exited (run -d,
// create, restore -d, criu restore -d) are reparented to it, and it reaps them at
// once. Without this they go to PID 1, which on these VMs reaps slowly (~1 s), and
// a runtime that waits for its dead init would be charged for that.
//
// One goroutine owns wait4(-1): commands started by Run register their pid under
// the same lock as the fork, so no status is lost; any other pid that exits is an
// orphan whose exit time is kept for waitOrphan.
type reaper struct {
	mu      sync.Mutex
	cond    *sync.Cond
	waiters map[int]chan exitInfo
	orphans map[int]time.Time
}

type exitInfo struct {
	status unix.WaitStatus
	at     time.Time
}

var rp = &reaper{waiters: map[int]chan exitInfo{}, orphans: map[int]time.Time{}}

func startReaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %w", err)
	}
	rp.cond = sync.NewCond(&rp.mu)
	sig := make(chan os.Signal, 16)
	signal.Notify(sig, unix.SIGCHLD)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		for {
			rp.reapAll()
			select {
			case <-sig:
			case <-tick.C:
			}
		}
	}()
	return nil
}

func (r *reaper) reapAll() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		now := time.Now()
		r.mu.Lock()
		if ch, ok := r.waiters[pid]; ok {
			delete(r.waiters, pid)
			ch <- exitInfo{ws, now}
		} else {
			r.orphans[pid] = now
			for p, t := range r.orphans { // forget old ones: pids get reused
				if now.Sub(t) > 2*time.Minute {
					delete(r.orphans, p)
				}
			}
			r.cond.Broadcast()
		}
		r.mu.Unlock()
	}
}

// waitOrphan waits until pid (not started by Run: a container init) has exited
// and been reaped by us, or is gone (reaped by someone else).
func waitOrphan(pid int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		rp.mu.Lock()
		_, done := rp.orphans[pid]
		if done {
			delete(rp.orphans, pid)
		}
		rp.mu.Unlock()
		if done {
			return nil
		}
		if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("process %d still there after %v", pid, limit)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// killWait SIGKILLs pid (a container init or a restored tree's root) and waits for it.
func killWait(pid int) {
	if pid <= 0 {
		return
	}
	_ = unix.Kill(pid, unix.SIGKILL)
	_ = waitOrphan(pid, 10*time.Second)
}

// Cmd is one timed command.
type Cmd struct {
	Args    []string
	Env     []string
	Dir     string
	Capture bool // stdout+stderr to a temp file returned in Result.Output; else /dev/null
	Timeout time.Duration
	Stdin   *os.File
	Extra   []*os.File    // fds 3, 4... of the command
	OnStart func(pid int) // called once it runs (for commands run in the background)
}

type Result struct {
	Pid        int
	Start, End time.Time
	MonoStart  int64 // CLOCK_MONOTONIC ns just before the fork (for the tracer)
	Status     unix.WaitStatus
	Output     string
}

func (r Result) Ms() float64 { return float64(r.End.Sub(r.Start).Microseconds()) / 1000 }

// defaultEnv is the environment of commands that set none (nil: the bench's own).
var defaultEnv []string

var devNull *os.File

func (c Cmd) Run() (Result, error) {
	var res Result
	if devNull == nil {
		f, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
		if err != nil {
			return res, err
		}
		devNull = f
	}
	out := devNull
	if c.Capture {
		f, err := os.CreateTemp("", "mycr-bench-out-")
		if err != nil {
			return res, err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		out = f
	}
	in := c.Stdin
	if in == nil {
		in = devNull
	}
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Minute
	}
	if !strings.Contains(c.Args[0], "/") {
		path, err := exec.LookPath(c.Args[0])
		if err != nil {
			return res, err
		}
		c.Args = append([]string{path}, c.Args[1:]...)
	}
	env := c.Env
	if env == nil {
		env = defaultEnv
	}
	if env == nil {
		env = os.Environ()
	}
	attr := &os.ProcAttr{Dir: c.Dir, Env: env, Files: append([]*os.File{in, out, out}, c.Extra...),
		Sys: &syscall.SysProcAttr{Setpgid: true}}
	ch := make(chan exitInfo, 1)
	rp.mu.Lock()
	res.MonoStart = monoNow()
	res.Start = time.Now()
	p, err := os.StartProcess(c.Args[0], c.Args, attr)
	if err != nil {
		rp.mu.Unlock()
		return res, err
	}
	res.Pid = p.Pid
	rp.waiters[p.Pid] = ch
	rp.mu.Unlock()
	_ = p.Release()
	if c.OnStart != nil {
		c.OnStart(p.Pid)
	}
	var ei exitInfo
	select {
	case ei = <-ch:
	case <-time.After(c.Timeout):
		_ = unix.Kill(-res.Pid, unix.SIGKILL)
		ei = <-ch
		res.End = ei.at
		return res, fmt.Errorf("%s: timed out after %v", strings.Join(c.Args, " "), c.Timeout)
	}
	res.End, res.Status = ei.at, ei.status
	if c.Capture {
		if b, err := os.ReadFile(out.Name()); err == nil {
			res.Output = string(b)
		}
	}
	if !ei.status.Exited() || ei.status.ExitStatus() != 0 {
		return res, fmt.Errorf("%s: %s: %s", strings.Join(c.Args, " "), describe(ei.status), lastLines(res.Output, 6))
	}
	return res, nil
}

func describe(ws unix.WaitStatus) string {
	if ws.Signaled() {
		return "killed by " + ws.Signal().String()
	}
	return fmt.Sprintf("exit status %d", ws.ExitStatus())
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

func monoNow() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// sh runs a helper command (not timed) and returns its output.
func sh(args ...string) (string, error) {
	r, err := Cmd{Args: args, Capture: true, Timeout: 5 * time.Minute}.Run()
	return r.Output, err
}
