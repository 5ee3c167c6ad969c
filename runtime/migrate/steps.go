package migrate

import (
	"fmt"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/sirupsen/logrus"

	"github.com/mycr/mycr/criu"
	"github.com/mycr/mycr/runtime"
)

// dump checkpoints the source under the watchdog; progress on the target side
// (restore and lazy-pages logs) counts too, since a lazy dump waits for it.
func (m *migration) dump(o *libcontainer.CriuOpts) error {
	meta := criu.NewMeta(m.o.ID, m.srcBundle, m.r.CriuVersion())
	meta.TCPEstablished, meta.LazyPages, meta.ExternalFds = o.TcpEstablished, o.LazyPages, m.extFds
	if err := criu.WriteMeta(o.ImagesDirectory, meta); err != nil {
		return err
	}
	m.dumpStart = time.Now()
	watch := runtime.DumpWatch{Dirs: []string{m.srcDir, m.dstDir}, Count: m.pagesServed}
	return m.r.Dump(m.c, "migrate", o, watch, !(o.LazyPages && m.lateFreeze))
}

// pagesServed is what the lazy dump's page server has sent so far (0 before the switch).
func (m *migration) pagesServed() int64 {
	if r := m.relay.Load(); r != nil {
		return r.pageBytes.Load()
	}
	return 0
}

// restoreTarget restores the copied images as the target container, detached;
// beforeCriu (nil: none) runs just before CRIU restores.
func (m *migration) restoreTarget(lazy bool, beforeCriu func() error) error {
	co := m.o.Criu
	co.ImagesDirectory, co.WorkDirectory = m.dstDir, ""
	co.LazyPages, co.LeaveRunning = lazy, false
	co.PageServer, co.StatusFd = libcontainer.CriuPageServerInfo{}, -1
	spec := *m.spec // Restore may adjust it; a second attempt needs the original
	_, err := m.dst.Restore(runtime.RestoreOpts{
		Create:     runtime.CreateOpts{ID: m.o.TargetID, Bundle: m.bundle, Spec: &spec},
		Criu:       co,
		Launch:     m.o.Launch,
		BeforeCriu: beforeCriu,
	})
	m.restoredAt = time.Now()
	if err != nil {
		return fmt.Errorf("restore on the target failed: %w", err)
	}
	if c, err := m.dst.Load(m.o.TargetID); err == nil {
		if st, err := c.State(); err == nil {
			m.rep.TargetPid = st.InitProcessPid
		}
	}
	return criu.SecureImageDir(m.dstDir)
}

// destroyTarget removes a target container that must not run (a failed switch).
func (m *migration) destroyTarget() {
	if m.dst == nil {
		return // another host: its migrate-receive destroys its half
	}
	// Under its lock: unlocking a container that no longer exists removes the lock file.
	if lock, err := m.dst.Lock(m.o.TargetID, "migrate"); err == nil {
		defer lock.Unlock()
	}
	c, err := m.dst.Load(m.o.TargetID)
	if err != nil {
		return
	}
	if err := runtime.Destroy(c); err != nil {
		logrus.Errorf("cannot remove the half-migrated target %s from %s: %v; run `mycr --root %s delete --force %s`",
			m.o.TargetID, m.dst.Dir, err, m.dst.Dir, m.o.TargetID)
	}
}

// sourceRunning tells whether the source container is alive and running.
func (m *migration) sourceRunning() bool {
	c, err := m.r.Load(m.o.ID)
	if err != nil {
		return false
	}
	st, err := c.Status()
	return err == nil && st == libcontainer.Running
}

// removeSource drops the source's state once CRIU has killed its processes.
func (m *migration) removeSource() error {
	if err := runtime.RemoveDumped(m.c, m.state.InitProcessPid); err != nil {
		return fmt.Errorf("removing the source container's state failed: %w", err)
	}
	return nil
}
