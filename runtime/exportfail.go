package runtime

import (
	"errors"
	"fmt"
	"os"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// rollback is what a restore of the container needs if its archive cannot be
// written after the dump: its stdio, taken before CRIU ends it (the pipes a
// daemon reads stay the same pipes).
type rollback struct {
	stdio []*os.File
	why   string // why it cannot be restored, if stdio is nil
	flags string // what the restore command needs besides the images
}

func saveForRollback(c *libcontainer.Container, o *libcontainer.CriuOpts) *rollback {
	b := &rollback{}
	if o.LeaveRunning {
		return b
	}
	st, err := c.State()
	if err != nil {
		return b
	}
	if b.stdio, err = ReopenStdio(st.InitProcessPid); err != nil {
		b.why = fmt.Sprintf("its stdio could not be kept for it: %v", err)
		logrus.Debugf("export of %s: %s", c.ID(), b.why)
		return b
	}
	if _, err := unix.IoctlGetTermios(int(b.stdio[0].Fd()), unix.TCGETS); err == nil {
		// Its pty master went to a console socket only the creator holds.
		b.close()
		b.stdio, b.why = nil, "it has a terminal, and a restore needs a console socket to hand its new pty to"
		b.flags = " --console-socket SOCKET"
	}
	return b
}

func (b *rollback) close() {
	for _, f := range b.stdio {
		f.Close()
	}
	b.stdio = nil
}

// exportFailed answers an archive that could not be written after a successful
// dump. The images are the container now: it is restored from them (detached,
// on its own stdio); only if that fails too are they kept, and named with the
// command that restores them.
func (r *Root) exportFailed(id string, o *libcontainer.CriuOpts, src *exportSource, b *rollback, scratch string, dest *exportDest, cause error) error {
	to := dest.final
	if dest.image != "" {
		to = dest.image
	}
	failed := fmt.Sprintf("export of %s to %s failed: %v", id, to, cause)
	if o.LeaveRunning {
		removeScratch(scratch)
		return fmt.Errorf("%s; the container keeps running (--leave-running)%s", failed, dest.leftNote())
	}
	err := r.restoreExported(id, o, src, b)
	if err == nil {
		removeScratch(scratch)
		return fmt.Errorf("%s; the container was restored from its checkpoint and keeps running%s", failed, dest.leftNote())
	}
	return fmt.Errorf("%s; restoring the container from its checkpoint failed too (%v); its images are kept in %s: "+
		"restore it with `mycr --root %s restore -d%s --bundle %s --image-path %s %s`",
		failed, err, o.ImagesDirectory, r.Dir, b.flags, src.bundle, o.ImagesDirectory, id)
}

func (r *Root) restoreExported(id string, o *libcontainer.CriuOpts, src *exportSource, b *rollback) error {
	if b.stdio == nil {
		return errors.New(b.why)
	}
	co := *o
	co.LeaveRunning, co.PreDump, co.LazyPages = false, false, false
	co.PageServer, co.StatusFd, co.ParentImage = libcontainer.CriuPageServerInfo{}, -1, ""
	_, err := r.Restore(RestoreOpts{
		Create: CreateOpts{ID: id, Bundle: src.bundle},
		Criu:   co,
		Launch: LaunchOpts{IO: IOConfig{Detach: true, Stdio: b.stdio}},
	})
	return err
}

// dropScratchUnlessNeeded removes the scratch image dir of a failed checkpoint
// when the container still runs; when it does not, CRIU had completed the dump
// and the images (named in the checkpoint's error) are what is left of it.
func (r *Root) dropScratchUnlessNeeded(id, scratch string) {
	if scratch == "" {
		return
	}
	if c, err := r.Load(id); err == nil {
		if st, err := c.Status(); err == nil && (st == libcontainer.Running || st == libcontainer.Paused) {
			removeScratch(scratch)
		}
	}
}

func removeScratch(dir string) {
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
}

// leftNote says what a failed export left at its destination.
func (d *exportDest) leftNote() string {
	if d.image != "" {
		return fmt.Sprintf("; no image was tagged at %s", d.image)
	}
	if d.part == "" {
		return "; the archive written to stdout is incomplete"
	}
	return fmt.Sprintf("; nothing was left at %s", d.final)
}
