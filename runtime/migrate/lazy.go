package migrate

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/mycr/mycr/runtime"
)

// lazyRefusedError is a lazy dump that failed before the switch began: the
// source runs again, so stop-and-copy may be tried.
type lazyRefusedError struct{ Err error }

func (e *lazyRefusedError) Error() string { return "lazy dump failed: " + e.Err.Error() }
func (e *lazyRefusedError) Unwrap() error { return e.Err }

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
	psPort, err := freeLoopbackPort()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(m.o.Address, strconv.Itoa(m.o.Port)))
	if err != nil {
		return fmt.Errorf("listen for the page transfer on %s port %d: %w (the container was not touched)", m.o.Address, m.o.Port, err)
	}
	defer ln.Close()
	relayPort := ln.Addr().(*net.TCPAddr).Port
	m.psAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(psPort))

	undoPipe, note, err := raisePipeMaxSize()
	if err != nil {
		return &lazyRefusedError{Err: err}
	}
	defer undoPipe()
	if note != "" {
		m.notify("%s", note)
	}

	undoEnv, err := pinPageServer(m.srcDir, "127.0.0.1")
	if err != nil {
		return err
	}
	defer undoEnv()

	var sp [2]int
	if err := unix.Pipe2(sp[:], unix.O_CLOEXEC); err != nil {
		return err
	}
	statusR := os.NewFile(uintptr(sp[0]), "criu-status")
	defer statusR.Close()

	o := m.o.Criu
	o.ImagesDirectory, o.WorkDirectory = m.srcDir, ""
	o.LazyPages, o.LeaveRunning, o.PreDump = true, false, false
	o.PageServer = libcontainer.CriuPageServerInfo{Address: "127.0.0.1", Port: int32(psPort)}
	o.StatusFd = sp[1] // libcontainer writes \0 and closes it on CRIU's "status-ready"

	m.freeze = watchFreeze(m.state)
	dumpDone := make(chan error, 1)
	go func() { dumpDone <- m.dump(&o) }()
	ready := make(chan bool, 1)
	go func() {
		b := make([]byte, 1)
		n, _ := statusR.Read(b)
		ready <- n == 1
	}()

	select {
	case <-ready:
	case err := <-dumpDone:
		if o.StatusFd >= 0 {
			unix.Close(o.StatusFd)
		}
		m.freeze.stopAndGet()
		runtime.Thaw(m.c)
		if err == nil {
			// Cannot happen: a lazy dump only ends after serving its pages.
			err = errors.New("CRIU ended the lazy dump without serving pages")
		}
		if !m.sourceRunning() {
			return fmt.Errorf("lazy dump of %s failed and the container is not running any more: %w", m.o.ID, err)
		}
		return &lazyRefusedError{Err: err}
	}
	logrus.Debugf("lazy dump of %s ready after %v", m.o.ID, time.Since(m.dumpStart))

	// From here the source is frozen and CRIU waits for a page client.
	relay, err := newPageRelay(ln, m.psAddr)
	if err != nil {
		return m.abortLazy(dumpDone, nil, nil, fmt.Errorf("connect to the page server: %w", err))
	}
	if err := m.transfer(); err != nil {
		return m.abortLazy(dumpDone, relay, nil, fmt.Errorf("copy the images to the target: %w", err))
	}
	if err := m.canceled(); err != nil {
		return m.abortLazy(dumpDone, relay, nil, err)
	}
	daemon, err := startLazyDaemon(m.r.Criu, m.dstDir, m.o.Address, relayPort)
	if err != nil {
		return m.abortLazy(dumpDone, relay, nil, err)
	}
	if err := daemon.waitReady(30*time.Second, m.o.Ctx.Done()); err != nil {
		return m.abortLazy(dumpDone, relay, daemon, err)
	}
	if err := m.restoreTarget(true); err != nil {
		return m.abortLazy(dumpDone, relay, daemon, err)
	}
	if err := m.canceled(); err != nil {
		m.destroyTarget()
		return m.abortLazy(dumpDone, relay, daemon, err)
	}
	m.notify("%s runs on the target (pid %d); moving the rest of its memory", m.o.TargetID, m.rep.TargetPid)

	// Post-copy: the target runs; wait for the daemon to have every page.
	if err := m.waitPages(relay, daemon, dumpDone); err != nil {
		m.destroyTarget()
		return m.abortLazy(dumpDone, relay, daemon, err)
	}
	m.rep.PageBytes = relay.pageBytes.Load()
	if err := relay.commit(); err != nil {
		logrus.Warnf("closing the page transfer: %v", err)
	}
	var dumpErr error
	select {
	case dumpErr = <-dumpDone:
	case <-time.After(2 * time.Minute):
		dumpErr = errors.New("CRIU's dump did not end after the last page moved")
	}
	m.measure()
	if dumpErr != nil {
		// The target is complete and running: it wins. The source must not run too.
		logrus.Warnf("the source's dump ended with an error after every page had moved (%v); removing the source", dumpErr)
		if err := runtime.Destroy(m.c); err != nil {
			logrus.Errorf("cannot remove the source container %s: %v; run `mycr --root %s delete --force %s`", m.o.ID, err, m.r.Dir, m.o.ID)
		}
		return nil
	}
	if err := m.removeSource(); err != nil {
		logrus.Warn(err)
	}
	return nil
}

// waitPages waits until the lazy-pages daemon has fetched every page and
// exited successfully, or something failed.
func (m *migration) waitPages(relay *pageRelay, daemon *lazyDaemon, dumpDone <-chan error) error {
	closed := false
	for {
		select {
		case err := <-relay.ended:
			if err != nil {
				return err
			}
			closed = true
			relay.ended = nil // CLOSE seen; now the daemon's exit decides
		case err := <-daemon.done:
			daemon.done = nil
			if err != nil {
				return fmt.Errorf("the lazy-pages daemon failed: %w (log %s)", err, filepath.Join(m.dstDir, lazyLogName))
			}
			if !closed {
				// It exits only after its CLOSE was answered; give the relay a moment.
				select {
				case err := <-relay.ended:
					if err != nil {
						return err
					}
					closed = true
				case <-time.After(5 * time.Second):
					return errors.New("the lazy-pages daemon exited without closing the page transfer")
				}
			}
			return nil
		case err := <-dumpDone:
			return &dumpEndedError{err}
		case <-m.o.Ctx.Done():
			return m.canceled()
		}
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
func (m *migration) abortLazy(dumpDone chan error, relay *pageRelay, daemon *lazyDaemon, cause error) error {
	if daemon != nil {
		daemon.kill()
	}
	var dumpErr error
	var ended *dumpEndedError
	if errors.As(cause, &ended) {
		dumpErr = ended.Err
	} else {
		if relay != nil {
			relay.abort()
		} else {
			abortPageServer(m.psAddr)
		}
		select {
		case dumpErr = <-dumpDone:
		case <-time.After(2 * time.Minute):
			dumpErr = errors.New("CRIU's dump did not end after the abort")
		}
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
