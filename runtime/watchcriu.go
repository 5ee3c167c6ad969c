package runtime

import (
	"github.com/opencontainers/runc/libcontainer"
	"github.com/sirupsen/logrus"

	"github.com/mycr/mycr/criu"
	"github.com/mycr/mycr/runtime/internal/criuseed"
)

// watchCriu runs a CRIU operation under the watchdog. If CRIU hung waiting for a
// hardware breakpoint although the probe said they work (a VM moved to another
// host keeps its boot id and cache), breakpoints are switched off for this boot
// and the operation runs once more.
func (r *Root) watchCriu(logPath string, dirs []string, retryable bool, fn func() error) error {
	return r.watchCriuThen(logPath, dirs, retryable, fn, nil)
}

// watchCriuThen is watchCriu with onKill run when the watchdog killed CRIU.
func (r *Root) watchCriuThen(logPath string, dirs []string, retryable bool, fn func() error, onKill func()) error {
	err := criu.WatchThen(logPath, dirs, criu.StallTimeout(), fn, onKill)
	if !retryable || r.Criu == nil || r.Criu.Fault != "" ||
		!criu.HungAtBreakpoint(err, logPath) {
		return err
	}
	if derr := r.Criu.DisableHWBreakpoints(r.Dir); derr != nil {
		logrus.Warnf("cannot switch CRIU to its no-breakpoint mode: %v", derr)
		return err
	}
	logrus.Warnf("CRIU hung waiting for a hardware breakpoint; retrying with CRIU_FAULT=%s (kept for this boot)", r.Criu.Fault)
	return criu.WatchThen(logPath, dirs, criu.StallTimeout(), fn, onKill)
}

// criuVersion is the version of the CRIU in use, 0 if unknown.
func (r *Root) criuVersion() int {
	if r.Criu == nil {
		return 0
	}
	return r.Criu.Version
}

// seedCriu hands c this root's CRIU version (criuseed: libcontainer would
// otherwise start criu once more to ask), for every container mycr loads or
// creates (commands that never run CRIU pay ~100 ns).
func (r *Root) seedCriu(c *libcontainer.Container) *libcontainer.Container {
	criuseed.Seed(c, r.criuVersion())
	return c
}
