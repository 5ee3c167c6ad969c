package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/sirupsen/logrus"

	"github.com/mycr/mycr/criu"
	"github.com/mycr/mycr/criu/image"
	"github.com/mycr/mycr/spec"
)

// Restore brings a checkpoint back as container o.Create.ID. If that ID names a
// container in the "created" state, the checkpoint is restored into it (runsc-style),
// keeping its bundle and stdio; otherwise a new container is made (runc-style), and
// the ID may differ from the checkpointed one.
func (r *Root) Restore(o RestoreOpts) (_ int, err error) {
	id := o.Create.ID
	if err := spec.ValidateID(id); err != nil {
		return -1, err
	}
	var lz *LazyRun
	cp, cleanup, err := r.restoreSource(&o)
	defer func() {
		if !lz.keepImages(cleanup) { // lazyrestore.go
			cleanup()
		}
	}()
	if err != nil {
		return -1, err
	}
	if err := r.checkOutsideState(&o.Criu); err != nil {
		return -1, err
	}
	lz, err = r.lazyPlan(&o)
	if err != nil {
		return -1, err
	}
	lock, err := r.LockCreating(id, "restore") // it may replace a created container
	if err != nil {
		return -1, err
	}
	defer lock.Unlock()
	r.Recover(id) // a restore of id that died half-way (halfrestore.go)
	// The lazy-pages daemon starts now and gets ready while the container is
	// made; the restore waits for it (lz.ready) right before CRIU runs.
	lz.startDaemon(r.criuBinary(), &o.Criu)
	defer func() {
		if err != nil {
			lz.abort() // a daemon that no restore will use
		}
	}()

	replaceCreated := func() error { return nil }
	if r.Exists(id) {
		if replaceCreated, err = r.takeOverCreated(id, &o); err != nil {
			return -1, err
		}
	}
	if o.Create.Spec == nil {
		bundle, s, err := LoadBundle(restoreBundle(o.Create.Bundle, cp))
		if err != nil {
			return -1, err
		}
		o.Create.Bundle, o.Create.Spec = bundle, s
	}
	if err := RemapMounts(o.Create.Spec, o.RemapMounts); err != nil {
		return -1, err
	}
	retargetCgroup(o.Create.Spec, cp, id)
	if err := checkRestorable(cp, o.Create.Spec, r.criuVersion()); err != nil {
		return -1, err
	}
	restoreNetns(&o, cp)             // netns.go
	masked, err := restoreMasked(cp) // masked.go
	if err != nil {
		return -1, err
	}
	if err := replaceCreated(); err != nil {
		return -1, fmt.Errorf("replace created container %s: %w", id, err)
	}
	// If mycr dies from here on, the next command on id removes the half
	// container (halfrestore.go).
	logPath := filepath.Join(logDir(&o.Criu), "restore.log")
	done, err := r.beginIntentAt(id, intent{Op: "restore", ImageDir: o.Criu.ImagesDirectory, LogPath: logPath})
	if err != nil {
		return -1, err
	}
	defer done()
	c, err := r.Create(o.Create)
	if err != nil {
		return -1, err
	}
	cgroups := r.noteCgroups(id, c)
	o.Launch.IO.Terminal = o.Create.Spec.Process.Terminal
	o.Launch.Restore = func(c *libcontainer.Container, p *libcontainer.Process) error {
		// On a stall, the half-restored processes die with CRIU (halfrestore.go).
		killRestored := func() { emptyCgroups(ownCgroups(cgroups, id), 2*time.Second) }
		inherit, held, ferr := restoreExternalFds(cp, p) // extfds_restore.go
		if ferr != nil {
			return fmt.Errorf("restore of %s from %s: %w", id, o.Criu.ImagesDirectory, ferr)
		}
		defer closeFiles(held)
		carried, unstage, terr := stageTmpfs(cp, r.StateDir(id)) // tmpfs.go
		if terr != nil {
			return fmt.Errorf("restore of %s from %s: %w", id, o.Criu.ImagesDirectory, terr)
		}
		defer unstage() // the container's binds keep the mounts
		// The host's cgroup yard; the network lock is the one of the dump (CRIU
		// takes it from inventory.img).
		r.Criu.UseConfig(r.Dir, criu.RunConfig{Yard: r.Criu.YardFits(image.CgroupHierarchies(o.Criu.ImagesDirectory)), Externals: append(masked, carried...), InheritFds: inherit})
		defer r.Criu.UseConfig(r.Dir, criu.RunConfig{})
		prepareReadOnlyRoot(cp, c.Config().Rootfs) // readonlyroot.go
		if o.BeforeCriu != nil {
			primed := primeCriuVersion(c) // meanwhile, not after
			err := o.BeforeCriu()
			<-primed
			if err != nil {
				return fmt.Errorf("restore of %s: %w", id, err)
			}
		}
		if err := lz.ready(cgroups); err != nil {
			why := lz.abort()
			return fmt.Errorf("lazy restore of %s: %w%s", id, err, why)
		}
		stopGuard := lz.duringRestore(killRestored)
		err := r.watchCriuThen(logPath, progressDirs(&o.Criu), func() error {
			return c.Restore(p, &o.Criu)
		}, killRestored)
		stopGuard()
		if err == nil {
			lz.restored(&o.Criu, id)
			done() // restored: a foreground restore may now run for long
		}
		if err != nil {
			why := lz.abort()
			return fmt.Errorf("restore of %s from %s failed%s: %w", id, o.Criu.ImagesDirectory, why, criu.Explain(err, logPath))
		}
		return nil
	}
	status, err := Launch(c, o.Create.Spec.Process, ActRestore, o.Launch)
	if err != nil {
		r.undoRestore(id, c, cgroups, logPath) // halfrestore.go
	}
	return status, err
}

// restoreSource opens, once, what o restores from: the archive it imports
// (unpacked; cleanup removes it), the Checkpoint the caller opened, or its
// image dir. What is not a CRIU image directory is refused.
func (r *Root) restoreSource(o *RestoreOpts) (cp *Checkpoint, cleanup func(), err error) {
	cleanup, cp = func() {}, o.Checkpoint
	if o.Import == "" && cp != nil {
		o.Criu.ImagesDirectory = cp.Dir
	}
	if err := canRecordHot(o); err != nil { // before an archive is unpacked or pulled
		return nil, cleanup, err
	}
	if o.Import != "" {
		if cp, cleanup, err = r.unpackImport(o); err != nil {
			return nil, cleanup, err
		}
	}
	if err := checkImageDir(&o.Criu); err != nil {
		return nil, cleanup, err
	}
	if cp == nil {
		cp = OpenCheckpoint(o.Criu.ImagesDirectory)
	}
	return cp, cleanup, nil
}

// checkImageDir refuses what is not a CRIU image directory before anything is created.
func checkImageDir(o *libcontainer.CriuOpts) error {
	if err := absImagePath(o); err != nil {
		return err
	}
	abs := o.ImagesDirectory
	st, err := os.Lstat(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("image path %s does not exist: pass the --image-path used at checkpoint", abs)
	case err != nil:
		return err
	case st.Mode()&os.ModeSymlink != 0:
		return fmt.Errorf("image path %s is a symlink: pass the real directory", abs)
	case !st.IsDir():
		return fmt.Errorf("image path %s is a file, not a directory", abs)
	}
	if _, err := os.Stat(filepath.Join(abs, "inventory.img")); err != nil {
		return fmt.Errorf("image path %s holds no checkpoint (inventory.img missing): was the checkpoint successful?", abs)
	}
	if err := image.CheckInventory(abs); err != nil {
		return err
	}
	return prepareWorkDir(o)
}

// restoreBundle picks the bundle: the flag, else the current dir if it holds a
// config.json (runc's default), else the bundle recorded at checkpoint time.
func restoreBundle(flag string, cp *Checkpoint) string {
	if flag != "" {
		return flag
	}
	if _, err := os.Stat(spec.ConfigName); err == nil {
		return "."
	}
	if m := cp.Meta; m != nil && m.Bundle != "" {
		logrus.Debugf("using bundle %s recorded in the checkpoint", m.Bundle)
		return m.Bundle
	}
	return "."
}

// takeOverCreated turns a restore onto an existing ID into a restore into the created
// container: its bundle and stdio are kept, and its waiting init is to be replaced by
// the checkpoint (by the returned func, once the restore's checks passed).
func (r *Root) takeOverCreated(id string, o *RestoreOpts) (func() error, error) {
	c, err := r.Load(id)
	if err != nil {
		return nil, err
	}
	status, err := c.Status()
	if err != nil {
		return nil, err
	}
	if status != libcontainer.Created {
		return nil, fmt.Errorf("container %s already exists and is %s: restore needs a new ID or a container in the created state", id, status)
	}
	bundle, s, err := LoadBundle(Bundle(c))
	if err != nil {
		return nil, err
	}
	o.Create.Bundle, o.Create.Spec = bundle, s
	o.Launch.IO.Detach = true
	if !s.Process.Terminal && o.Launch.IO.Stdio == nil {
		state, err := c.State()
		if err != nil {
			return nil, err
		}
		if o.Launch.IO.Stdio, err = ReopenStdio(state.InitProcessPid); err != nil {
			return nil, fmt.Errorf("take over the stdio of created container %s: %w", id, err)
		}
	}
	return func() error { return destroy(c) }, nil
}

// ReopenStdio opens the stdio a process holds (daemons' pipes, a log file)
// through /proc, for a restore that gives the container the stdio it had.
func ReopenStdio(pid int) ([]*os.File, error) {
	flags := []int{os.O_RDONLY, os.O_WRONLY, os.O_WRONLY}
	var files []*os.File
	for fd, flag := range flags {
		path := fmt.Sprintf("/proc/%d/fd/%d", pid, fd)
		if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && flag != os.O_RDONLY {
			// A new open starts at offset 0: the output goes on at the end
			// instead of overwriting what the container wrote.
			flag |= os.O_APPEND
		}
		f, err := os.OpenFile(path, flag, 0)
		if err != nil {
			for _, o := range files {
				o.Close()
			}
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// primeCriuVersion has libcontainer ask CRIU's version (one `criu swrk`) in the
// background and cache it on c, so its Restore does not ask it afterwards: its
// Checkpoint looks the version up first, then refuses the empty options
// without touching anything.
func primeCriuVersion(c *libcontainer.Container) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Checkpoint(&libcontainer.CriuOpts{})
	}()
	return done
}
