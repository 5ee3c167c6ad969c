package criu

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

// ErrStalled is wrapped by the error Watch returns when it killed a stuck CRIU.
var ErrStalled = errors.New("CRIU stalled")

// EnvTimeout overrides the stall timeout (a Go duration such as "90s").
const EnvTimeout = "MYCR_CRIU_TIMEOUT"

// DefaultStallTimeout is generous: a healthy CRIU logs or writes images far
// more often than this, even when dumping gigabytes.
const DefaultStallTimeout = 60 * time.Second

// breakpointStall is how long a dump may wait for a hardware breakpoint trap:
// a working trap takes microseconds, a broken one never comes, so waiting the
// full stall timeout would only delay the retry without breakpoints.
var breakpointStall = 3 * time.Second

// maxLogSize bounds a CRIU log: a healthy -v4 log of even a large container is
// a few MiB, while a CRIU stuck in a retry loop logs gigabytes a minute (the
// restorer on a truncated pages image) and would fill the disk; such a run is
// killed like a stalled one.
var maxLogSize int64 = 512 << 20

// killGrace bounds the wait for fn after CRIU was killed; libcontainer
// returns at once (its socket to criu gets EOF), anything else is abandoned.
var killGrace = 10 * time.Second

// StallTimeout reads MYCR_CRIU_TIMEOUT, falling back to DefaultStallTimeout.
func StallTimeout() time.Duration {
	v := os.Getenv(EnvTimeout)
	if v == "" {
		return DefaultStallTimeout
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		logrus.Warnf("ignoring %s=%q (want a duration like 90s); using %v", EnvTimeout, v, DefaultStallTimeout)
		return DefaultStallTimeout
	}
	return d
}

// StallError describes a CRIU run the watchdog killed.
type StallError struct {
	Stall    time.Duration
	LogPath  string
	LastLine string
	Killed   []int // pids of the killed criu processes
	Runaway  bool  // killed because its log outgrew maxLogSize, not for silence
	// Stopped: a criu process was stopped by a signal (SIGSTOP, SIGTSTP), not
	// blocked waiting; a stall at a breakpoint is then no breakpoint hang.
	Stopped bool
	Err     error // fn's own error, if it returned in time
}

func (e *StallError) Error() string {
	var b strings.Builder
	if e.Runaway {
		fmt.Fprintf(&b, "CRIU made no progress, logging in a loop past %d MiB (log %s, last line: %q); ", maxLogSize>>20, e.LogPath, e.LastLine)
	} else {
		fmt.Fprintf(&b, "CRIU made no progress for %v (log %s, last line: %q); ", e.Stall, e.LogPath, e.LastLine)
	}
	if len(e.Killed) > 0 {
		fmt.Fprintf(&b, "it was killed (pid %v)", e.Killed)
	} else {
		b.WriteString("no criu process of ours was found to kill")
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *StallError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrStalled}
	}
	return []error{ErrStalled, e.Err}
}

// Watch runs fn (which starts `criu swrk` as our child, as libcontainer does)
// and kills those criu processes if neither the log at logPath nor the files
// under progressDirs grow for stall (<= 0: StallTimeout()). See StallError
// for what it returns.
func Watch(logPath string, progressDirs []string, stall time.Duration, fn func() error) error {
	return WatchThen(logPath, progressDirs, stall, fn, nil)
}

// WatchThen is Watch with onKill run right after the criu processes were
// killed: a restore kills there what CRIU had restored so far (those processes
// hold CRIU's socket open, so fn would not return before killGrace otherwise).
func WatchThen(logPath string, progressDirs []string, stall time.Duration, fn func() error, onKill func()) error {
	return WatchCounting(logPath, progressDirs, nil, stall, fn, onKill)
}

// WatchCounting is WatchThen with count (nil: none) as one more sign of
// progress: a lazy dump's page server logs nothing while it serves pages,
// which over a slow link takes minutes; the bytes it served count.
func WatchCounting(logPath string, progressDirs []string, count func() int64, stall time.Duration, fn func() error, onKill func()) error {
	if stall <= 0 {
		stall = StallTimeout()
	}
	done := make(chan error, 1)
	go func() { done <- fn() }()

	tick := time.NewTicker(min(max(stall/10, 20*time.Millisecond), time.Second))
	defer tick.Stop()
	last, lastChange := measure(logPath, progressDirs, count), time.Now()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
		}
		now := measure(logPath, progressDirs, count)
		runaway := now.logSize > maxLogSize
		if now != last && !runaway {
			last, lastChange = now, time.Now()
			continue
		}
		idle := time.Since(lastChange)
		if !runaway && idle < stall && (idle < breakpointStall || !StalledAtBreakpoint(logPath)) {
			continue
		}
		se := &StallError{Stall: stall, LogPath: logPath, LastLine: lastLogLine(logPath), Runaway: runaway}
		se.Killed, se.Stopped = killCriu()
		if onKill != nil {
			onKill()
		}
		select {
		case se.Err = <-done:
		case <-time.After(killGrace):
		}
		return se
	}
}

// killCriu SIGKILLs our criu children and returns their pids, and whether
// one of them was stopped by a signal.
func killCriu() (killed []int, stopped bool) {
	procs := criuProcs(os.Getpid(), criuBinary())
	slices.Reverse(procs) // children first, so none is orphaned mid-way
	for _, p := range procs {
		stopped = stopped || p.state == 'T'
	}
	for _, p := range procs {
		if err := p.kill(); err != nil {
			logrus.Warnf("kill criu pid %d: %v", p.pid, err)
			continue
		}
		killed = append(killed, p.pid)
	}
	return killed, stopped
}

// HungAtBreakpoint tells whether err is the watchdog's, for a CRIU that waited
// (not one stopped by a signal) where a dump waits for a hardware breakpoint.
func HungAtBreakpoint(err error, logPath string) bool {
	var se *StallError
	return errors.As(err, &se) && !se.Stopped && StalledAtBreakpoint(logPath)
}

// progress is what must change for CRIU to count as alive.
type progress struct {
	logSize, dirBytes, counted int64
	files                      int
}

func measure(logPath string, dirs []string, count func() int64) progress {
	var p progress
	if count != nil {
		p.counted = count()
	}
	if fi, err := os.Stat(logPath); err == nil {
		p.logSize = fi.Size()
	}
	for _, d := range dirs {
		_ = filepath.WalkDir(d, func(_ string, de fs.DirEntry, err error) error {
			if err == nil && de.Type().IsRegular() {
				if fi, err := de.Info(); err == nil {
					p.dirBytes += fi.Size()
					p.files++
				}
			}
			return nil
		})
	}
	return p
}
