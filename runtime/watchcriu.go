package runtime

import (
	"fmt"

	"github.com/sirupsen/logrus"

	"github.com/mycr/mycr/criu"
)

// watchCriu runs a CRIU operation under the watchdog.
func (r *Root) watchCriu(logPath string, dirs []string, fn func() error) error {
	return r.watchCriuThen(logPath, dirs, fn, nil)
}

// watchCriuThen is watchCriu with onKill run when the watchdog killed CRIU.
func (r *Root) watchCriuThen(logPath string, dirs []string, fn func() error, onKill func()) error {
	return criu.WatchThen(logPath, dirs, criu.StallTimeout(), fn, onKill)
}

// BreakpointRetry says how to run a CRIU operation once more (RetryAtBreakpoint).
type BreakpointRetry struct {
	LogPath string           // CRIU's log of the operation (criu.HungAtBreakpoint reads it)
	Reset   func() error     // clears what the first attempt left; nil: nothing to clear
	Notify  func(string)     // says that it retries; nil: a warning in mycr's log
	Final   func(error) bool // errors after which no retry is possible; nil: none
}

// RetryAtBreakpoint runs attempt, and once more if CRIU hung waiting for a
// hardware breakpoint although the probe said they work (a VM moved to another
// host keeps its boot id and cache): breakpoints are then switched off for this
// boot. The one such retry: Checkpoint and runtime/migrate use it.
func (r *Root) RetryAtBreakpoint(b BreakpointRetry, attempt func() error) error {
	err := attempt()
	if err == nil || (b.Final != nil && b.Final(err)) || r.Criu == nil || r.Criu.Fault != "" ||
		!criu.HungAtBreakpoint(err, b.LogPath) { // not when CRIU was stopped by a signal
		return err
	}
	if derr := r.Criu.DisableHWBreakpoints(r.Dir); derr != nil {
		logrus.Warnf("cannot switch CRIU to its no-breakpoint mode: %v", derr)
		return err
	}
	msg := fmt.Sprintf("CRIU hung waiting for a hardware breakpoint; retrying with CRIU_FAULT=%s (kept for this boot)", r.Criu.Fault)
	if b.Notify != nil {
		b.Notify(msg)
	} else {
		logrus.Warn(msg)
	}
	if b.Reset != nil {
		if rerr := b.Reset(); rerr != nil {
			return rerr
		}
	}
	return attempt()
}
