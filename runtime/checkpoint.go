package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/mycr/mycr/criu"
)

// Checkpoint dumps a running (or paused) container into o.ImagesDirectory.
// Without LeaveRunning the container is gone afterwards, as with runc. A failed
// checkpoint leaves the container as it was: running (or paused if it was), never lost.
func (r *Root) Checkpoint(id string, o *libcontainer.CriuOpts) error {
	c, lock, err := r.LoadForChange(id, "checkpoint")
	if err != nil {
		return err
	}
	defer lock.Unlock()
	status, err := c.Status()
	if err != nil {
		return err
	}
	if status != libcontainer.Running && status != libcontainer.Paused {
		return fmt.Errorf("cannot checkpoint container %s: it is %s: %w", id, status, libcontainer.ErrNotRunning)
	}
	if err := r.checkOutsideState(o); err != nil {
		return err
	}
	if err := prepareDirs(o); err != nil {
		return err
	}
	state, err := c.State()
	if err != nil {
		return err
	}
	meta := criu.NewMeta(id, Bundle(c), r.criuVersion())
	meta.LeaveRunning, meta.TCPEstablished, meta.LazyPages = o.LeaveRunning, o.TcpEstablished, o.LazyPages
	meta.Paused = status == libcontainer.Paused
	var noNetLock bool
	meta.Netns, noNetLock = chooseNetns(c, state.InitProcessPid, o) // netns.go
	cfg := c.Config()
	meta.MaskedDirs = maskedDirMounts(&cfg, state.InitProcessPid)                 // masked.go
	if meta.ExternalFds, err = externalFds(c, state.InitProcessPid); err != nil { // extfds.go
		return err
	}
	if err := criu.WriteMeta(o.ImagesDirectory, meta); err != nil {
		return err
	}
	logPath := filepath.Join(logDir(o), "dump.log")
	// Images hold process memory: CRIU must create them 0600, never briefly readable.
	oldUmask := unix.Umask(0o077)
	defer unix.Umask(oldUmask)
	start := time.Now()
	wasPaused := status == libcontainer.Paused
	// Deferred first, so it runs after done: the guard finds the record gone.
	defer r.startGuard(id)() // guard.go: repairs at once if this process dies
	done, err := r.beginIntentAt(id, intent{Op: "checkpoint", WasPaused: wasPaused, ImageDir: o.ImagesDirectory})
	if err != nil {
		return err
	}
	defer done()
	// The host's cgroup yard, for this dump only.
	rc := criu.RunConfig{Yard: true, NoNetworkLock: noNetLock, Externals: append(criu.MaskedExternals(meta.MaskedDirs), dumpExternals(meta.ExternalFds, r.Criu != nil && r.Criu.UserConfig)...)}
	defer r.Criu.UseConfig(r.Dir, criu.RunConfig{})
	var carriable []criu.CarriedTmpfs
	// Not for a pre-dump (memory only), nor when CRIU runs with the user's
	// own configuration file, which mycr's externals cannot reach.
	if !o.PreDump && r.Criu != nil && !r.Criu.UserConfig {
		carriable = carriableTmpfs(&cfg, state.InitProcessPid, meta.MaskedDirs) // tmpfs.go
	}
	unshield := shieldCriu() // criuguard.go
	err = r.RetryAtBreakpoint(BreakpointRetry{LogPath: logPath}, func() error {
		keepRunning(c, wasPaused) // a killed first try may have left it frozen
		preFreeze(c, wasPaused)
		if err := r.carryTmpfs(c, state.InitProcessPid, carriable, meta, rc, o.ImagesDirectory); err != nil {
			return err
		}
		return r.watchCriu(logPath, progressDirs(o), func() error { return c.Checkpoint(o) })
	})
	unshield()
	if err != nil {
		keepRunning(c, wasPaused)
		return checkpointFailed(c, id, status, o.ImagesDirectory, err, logPath)
	}
	logrus.Debugf("checkpointed %s in %v", id, time.Since(start))
	if o.LeaveRunning {
		keepRunning(c, wasPaused) // CRIU leaves a cgroup it found frozen frozen
	}
	if err := criu.SecureImageDir(o.ImagesDirectory); err != nil {
		return err
	}
	if o.LeaveRunning {
		return nil
	}
	// CRIU killed the tree. In the host pid namespace a restore reuses the same pids,
	// which are free only once the dead init is reaped ("Can't fork ... File exists").
	if ns := c.Config().Namespaces; !ns.Contains(configs.NEWPID) {
		waitGone(state.InitProcessPid, 10*time.Second)
	}
	if err := c.Destroy(); err != nil {
		return fmt.Errorf("checkpoint of %s succeeded but removing the stopped container failed: %w", id, err)
	}
	logrus.Debugf("container %s removed after %v", id, time.Since(start))
	return nil
}

func prepareDirs(o *libcontainer.CriuOpts) error {
	if err := absImagePath(o); err != nil {
		return err
	}
	if err := criu.PrepareImageDir(o.ImagesDirectory); err != nil {
		return err
	}
	return prepareWorkDir(o)
}

// preFreeze freezes the container's cgroup before CRIU runs. CRIU's own freezing
// of a cgroup polls in 100 ms steps, which was most of an idle container's
// checkpoint time; libcontainer's freezer polls in microseconds, and CRIU takes
// an already frozen cgroup as is (as for a paused container).
func preFreeze(c *libcontainer.Container, wasPaused bool) {
	if wasPaused {
		return
	}
	if err := c.Pause(); err != nil {
		logrus.Debugf("pre-freeze of %s failed, CRIU will freeze it: %v", c.ID(), err)
	}
}

// waitGone waits until pid has exited and been reaped by whoever is its parent.
func waitGone(pid int, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if err := unix.Kill(pid, 0); errors.Is(err, unix.ESRCH) {
			return
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); errors.Is(err, os.ErrNotExist) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	logrus.Warnf("process %d is still present %v after the checkpoint", pid, limit)
}
