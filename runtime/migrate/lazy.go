package migrate

import (
	"errors"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mycr/mycr/criu"
	"github.com/mycr/mycr/runtime"
)

// lazy migrates post-copy:
//
//  1. the source is dumped with lazy pages: CRIU freezes it, writes everything
//     but anonymous memory, then serves the memory from a page server and
//     signals readiness (status fd);
//  2. mycr copies the images to the target dir and starts `criu lazy-pages`
//     there, which fetches pages through mycr's relay from the page server;
//  3. the target is restored with lazy pages and runs at once, faulting its
//     memory in on demand while the daemon pulls the rest in the background;
//  4. once the daemon has every page and exited 0, the relay lets the dump end
//     well and CRIU kills the source (commit); on any failure before that the
//     relay makes the dump fail instead, so CRIU resumes the source (abort)
//     and the target is destroyed.
func (m *migration) lazy() error {
	if err := m.canceled(); err != nil {
		return err
	}
	l, err := m.listenForPages()
	if err != nil {
		return err
	}
	defer l.ln.Close()
	undo, err := m.prepareLazyDump()
	if err != nil {
		return err
	}
	defer undo()
	if err := m.startLazyDump(l); err != nil {
		return err
	}
	defer l.status.Close()
	// From here the source is frozen and CRIU waits for a page client.
	if err := m.switchOver(l); err != nil {
		return m.abortLazy(l, err)
	}
	m.notify("%s runs on the target (pid %d); moving the rest of its memory", m.o.TargetID, m.rep.TargetPid)
	// Post-copy: the target runs; wait for the daemon to have every page.
	if err := m.waitPages(l.relay, l.daemon, l.dumpDone); err != nil {
		m.destroyTarget()
		return m.abortLazy(l, err)
	}
	m.commitLazy(l)
	return nil
}

// switchOver connects the relay, copies the images, starts the target's
// lazy-pages daemon and restores the target, which then runs.
func (m *migration) switchOver(l *lazyRun) error {
	var err error
	if l.relay, err = newPageRelay(l.ln, m.psAddr); err != nil {
		return fmt.Errorf("connect to the page server: %w", err)
	}
	m.relay.Store(l.relay)
	if err := m.transfer(); err != nil {
		return fmt.Errorf("copy the images to the target: %w", err)
	}
	logrus.Debugf("switch-over: images handed to the target (%d bytes)", m.rep.ImageBytes)
	if err := m.canceled(); err != nil {
		return err
	}
	bin := ""
	if m.r.Criu != nil {
		bin = m.r.Criu.Binary
	}
	l.daemon, err = criu.StartLazyPages(criu.LazyPagesOpts{Binary: bin, ImagesDir: m.dstDir, Address: m.o.Address, Port: l.relayPort})
	if err != nil {
		return err
	}
	// The daemon starts while the target container is prepared; CRIU's
	// restore connects to it, so it waits for the daemon first.
	ready := func() error {
		if err := l.daemon.WaitReady(30*time.Second, m.o.Ctx.Done()); err != nil {
			return err
		}
		logrus.Debugf("switch-over: the target's lazy-pages daemon is ready")
		return nil
	}
	if err := m.restoreTarget(true, ready); err != nil {
		return err
	}
	logrus.Debugf("switch-over: the target runs")
	if err := m.canceled(); err != nil {
		m.destroyTarget()
		return err
	}
	return nil
}

// commitLazy ends a lazy migration whose target has every page: the dump ends
// well, CRIU kills the source, and the source's state goes.
func (m *migration) commitLazy(l *lazyRun) {
	m.rep.PageBytes = l.relay.pageBytes.Load()
	if g := l.relay.gets.Load(); g > 0 {
		logrus.Debugf("post-copy: %d page requests for %d pages (%.1f pages each), %v since the target ran (%v per request)",
			g, l.relay.getPages.Load(), float64(l.relay.getPages.Load())/float64(g), time.Since(m.restoredAt).Round(time.Millisecond),
			(time.Since(m.restoredAt) / time.Duration(g)).Round(time.Microsecond))
	}
	if n := l.relay.pf.bytes.Load(); n > 0 {
		logrus.Debugf("post-copy: %d MiB prefetched ahead of the daemon", n>>20)
	}
	if err := l.relay.commit(); err != nil {
		logrus.Warnf("closing the page transfer: %v", err)
	}
	dumpErr := waitDumpEnd(l.dumpDone, "CRIU's dump did not end after the last page moved")
	m.measure()
	if dumpErr != nil {
		// The target is complete and running: it wins. The source must not run too.
		logrus.Warnf("the source's dump ended with an error after every page had moved (%v); removing the source", dumpErr)
		if err := runtime.Destroy(m.c); err != nil {
			logrus.Errorf("cannot remove the source container %s: %v; run `mycr --root %s delete --force %s`", m.o.ID, err, m.r.Dir, m.o.ID)
		}
		return
	}
	if err := m.removeSource(); err != nil {
		logrus.Warn(err)
	}
}

// waitDumpEnd waits (long: CRIU unfreezes or kills a big tree) for the dump to end.
func waitDumpEnd(dumpDone <-chan error, stuck string) error {
	select {
	case err := <-dumpDone:
		return err
	case <-time.After(2 * time.Minute):
		return errors.New(stuck)
	}
}

// waitPages waits until the lazy-pages daemon has fetched every page and
// exited successfully, or something failed.
func (m *migration) waitPages(relay *pageRelay, daemon *criu.LazyPages, dumpDone <-chan error) error {
	closed := false
	daemonExited := daemon.Exited()
	for {
		select {
		case err := <-relay.ended:
			if err != nil {
				return err
			}
			closed = true
			relay.ended = nil // CLOSE seen; now the daemon's exit decides
		case <-daemonExited:
			daemonExited = nil
			if err := daemon.Err(); err != nil {
				return fmt.Errorf("the lazy-pages daemon failed: %w (log %s)", err, daemon.LogPath())
			}
			if !closed {
				return waitRelayClosed(relay)
			}
			return nil
		case err := <-dumpDone:
			return &dumpEndedError{err}
		case <-m.o.Ctx.Done():
			return m.canceled()
		}
	}
}

// waitRelayClosed gives the relay a moment to see the CLOSE of a daemon that
// exited well: it exits only after its CLOSE was answered.
func waitRelayClosed(relay *pageRelay) error {
	select {
	case err := <-relay.ended:
		return err
	case <-time.After(5 * time.Second):
		return errors.New("the lazy-pages daemon exited without closing the page transfer")
	}
}

// dumpEndedError is a dump that ended while mycr still needed it.
type dumpEndedError struct{ Err error }

func (e *dumpEndedError) Error() string {
	return fmt.Sprintf("the source's dump ended before every page had moved: %v", e.Err)
}

// abortLazy undoes a lazy migration before the switch: the daemon is killed,
// the relay makes the page server fail so CRIU resumes the source, and mycr
// waits for the dump to end. The target must already be gone (or never made).
func (m *migration) abortLazy(l *lazyRun, cause error) error {
	if l.daemon != nil {
		l.daemon.Kill()
	}
	var dumpErr error
	var ended *dumpEndedError
	if errors.As(cause, &ended) {
		dumpErr = ended.Err
	} else {
		if l.relay != nil {
			l.relay.abort()
		} else {
			abortPageServer(m.psAddr)
		}
		dumpErr = waitDumpEnd(l.dumpDone, "CRIU's dump did not end after the abort")
	}
	m.freeze.stopAndGet()
	runtime.Thaw(m.c)
	logrus.Debugf("aborted lazy dump ended with: %v", dumpErr)
	if m.sourceRunning() {
		return fmt.Errorf("migration of %s failed, the container is still running on the source: %w", m.o.ID, cause)
	}
	return fmt.Errorf("migration of %s failed (%w) and the source container is not running any more (dump: %v); its state is in %s",
		m.o.ID, cause, dumpErr, m.r.StateDir(m.o.ID))
}
