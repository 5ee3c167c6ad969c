package runtime

import (
	"path/filepath"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mycr/mycr/criu"
)

// The primitives below serve callers that choose CRIU's options themselves
// (runtime/migrate): the container is loaded under its lock (Root.Lock,
// Root.Load), and these run the steps Checkpoint and Restore also take.

// Dump runs CRIU's dump of c with o, recorded as operation op: if mycr dies
// mid-way, its guard or the next command on the container thaws it (guard.go, intent.go). The cgroup
// is frozen first (fast), CRIU runs under the watchdog with progress counted by
// watch, a failure is explained from CRIU's log (dump.log in
// o.ImagesDirectory) and the images are made private. A failed dump may leave
// c frozen: Thaw it. Unlike Checkpoint, a hang at a hardware breakpoint is not
// retried here: the caller knows what a retry needs (RetryAtBreakpoint).
// Without freezeFirst the cgroup is left to CRIU (or to an action script the
// caller gave it, which freezes later: runtime/migrate's lateFreeze).
func (r *Root) Dump(c *libcontainer.Container, op string, o *libcontainer.CriuOpts, watch DumpWatch, freezeFirst bool) error {
	// If mycr dies mid-way, its guard (or the next command) thaws the container.
	defer r.startGuard(c.ID())()
	done, err := r.beginIntent(c.ID(), op, false)
	if err != nil {
		return err
	}
	defer done()
	logPath := filepath.Join(logDir(o), "dump.log")
	err = criu.WatchCounting(logPath, watch.Dirs, watch.Count, criu.StallTimeout(), func() error {
		if freezeFirst {
			preFreeze(c, false) // CRIU's own freezing polls in 100 ms steps
		}
		return c.Checkpoint(o)
	}, nil)
	if err != nil {
		return criu.Explain(err, logPath)
	}
	return criu.SecureImageDir(o.ImagesDirectory)
}

// DumpWatch is what counts as a dump's progress besides its log: bytes in
// Dirs, and Count (nil: none), e.g. the pages a lazy dump's page server served.
type DumpWatch struct {
	Dirs  []string
	Count func() int64
}

// DumpExternals lists c's descriptors that point outside the container (stdio
// on a host file, /dev/null or terminal: extfds.go) and points the next CRIU
// runs at a configuration that declares them external, as Checkpoint does, so
// CRIU can dump them; record them in the images' Meta.ExternalFds and a
// restore hands its own stdio in their place. undo goes back to the defaults.
func (r *Root) DumpExternals(c *libcontainer.Container, initPid int) (fds []criu.ExternalFd, undo func(), err error) {
	if fds, err = externalFds(c, initPid); err != nil {
		return nil, nil, err
	}
	r.Criu.UseConfig(r.Dir, criu.RunConfig{Externals: dumpExternals(fds, r.Criu != nil && r.Criu.UserConfig)})
	return fds, func() { r.Criu.UseConfig(r.Dir, criu.RunConfig{}) }, nil
}

// CriuVersion is the version of the CRIU this root runs, 0 if unknown.
func (r *Root) CriuVersion() int { return r.criuVersion() }

// Thaw undoes the frozen cgroup a failed or aborted dump may have left, so the
// container runs on.
func Thaw(c *libcontainer.Container) { keepRunning(c, false) }

// RemoveDumped drops the state of a container whose processes CRIU killed at
// the end of its dump (initPid was its init). In the host pid namespace it
// first waits for the dead init to be reaped, since a restore reuses its pid.
func RemoveDumped(c *libcontainer.Container, initPid int) error {
	if cfg := c.Config(); !cfg.Namespaces.Contains(configs.NEWPID) {
		waitGone(initPid, 10*time.Second)
	}
	return c.Destroy()
}

// Destroy kills every process of a loaded container and removes its state and
// cgroups (delete --force without the lock, which the caller holds).
func Destroy(c *libcontainer.Container) error { return destroy(c) }

// CheckBindSources refuses a spec whose bind mounts' host sources are missing:
// a restore from it would fail after the checkpoint.
func CheckBindSources(s *specs.Spec) error { return checkBindSources(s) }

// CheckTerminal refuses stdio settings that cannot work together (a detached
// terminal without a console socket, a console socket without a terminal).
func CheckTerminal(cfg IOConfig) error { return checkTerminal(cfg) }
