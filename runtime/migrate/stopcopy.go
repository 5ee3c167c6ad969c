package migrate

import (
	"fmt"

	"github.com/sirupsen/logrus"

	"github.com/mycr/mycr/runtime"
)

// stopAndCopy migrates by checkpoint, copy, restore. CRIU kills the source at
// the end of its dump (with its network still locked, as a checkpoint does);
// if the copy or the target's restore then fails, the source is restored on
// the source root from its images, and if even that fails the images are kept
// and the error says how to restore them.
func (m *migration) stopAndCopy() error {
	if err := m.canceled(); err != nil {
		return err
	}
	if err := m.dumpAll(func(error) {}); err != nil {
		return err
	}
	err := m.transfer()
	if err == nil {
		err = m.canceled()
	}
	if err == nil {
		err = m.restoreTarget(false, nil)
	}
	if err != nil {
		return m.rollback(err)
	}
	m.measure()
	return nil
}

// rollback restores the source container on the source root from its images.
func (m *migration) rollback(cause error) error {
	m.freeze.stopAndGet()
	m.destroyTarget()
	m.lock.Unlock() // Restore takes the container's lock itself
	m.tempBase = "" // the images are the container until it runs again: never remove them here
	o := m.o.Criu
	o.ImagesDirectory, o.WorkDirectory = m.srcDir, ""
	o.LazyPages, o.LeaveRunning = false, false
	o.StatusFd = -1
	_, err := m.r.Restore(runtime.RestoreOpts{
		Create: runtime.CreateOpts{ID: m.o.ID, Bundle: m.srcBundle},
		Criu:   o,
		Launch: m.o.Launch,
	})
	if err == nil {
		return fmt.Errorf("migration of %s failed; it was restored on the source from its images (%s): %w", m.o.ID, m.srcDir, cause)
	}
	return fmt.Errorf("migration of %s failed (%w) and restoring it on the source failed too (%v); its images are kept: "+
		"mycr --root %s restore -d --bundle %s --image-path %s %s",
		m.o.ID, cause, err, m.r.Dir, m.srcBundle, m.srcDir, m.o.ID)
}

// dumpAll checkpoints the whole source into srcDir; CRIU kills it at the end.
// If the dump fails, the source is thawed and abort(err) runs before the
// error says whether the source still runs. After a dump, the source's
// processes are gone and its images are the container.
func (m *migration) dumpAll(abort func(error)) error {
	o := m.o.Criu
	o.ImagesDirectory, o.WorkDirectory = m.srcDir, ""
	o.LazyPages, o.LeaveRunning, o.PreDump = false, false, false
	o.StatusFd = -1
	m.freeze = watchFreeze(m.state)
	if err := m.dump(&o); err != nil {
		m.freeze.stopAndGet()
		runtime.Thaw(m.c)
		abort(err)
		if m.sourceRunning() {
			return fmt.Errorf("checkpoint of %s failed, the container is still running on the source: %w", m.o.ID, err)
		}
		return fmt.Errorf("checkpoint of %s failed and the container is not running any more: %w", m.o.ID, err)
	}
	if err := m.removeSource(); err != nil {
		logrus.Warn(err)
	}
	return nil
}
