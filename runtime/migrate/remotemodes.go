package migrate

import (
	"fmt"
)

// stopCopy migrates to the other host by checkpoint, send, restore there.
// CRIU kills the source at the end of its dump; until the target commits,
// any failure (the link lost included) restores the source here from its
// images and the target destroys what it made.
func (x *remoteRun) stopCopy() error {
	m := x.m
	if err := m.canceled(); err != nil {
		return err
	}
	fds, undo, err := m.r.DumpExternals(m.c, m.state.InitProcessPid)
	if err != nil {
		return err
	}
	defer undo()
	m.extFds = fds
	sent, err, sendErr := x.dumpStreaming()
	if err != nil {
		return err
	}
	x.quiesceNet()
	err = sendErr
	if err == nil {
		err = x.sendImages(sent)
	}
	if err == nil {
		err = m.canceled()
	}
	if err == nil {
		err = x.restoreThere(false)
	}
	if err == nil {
		err = x.commit()
	}
	if err != nil {
		x.abortTarget(err)
		x.restoreNet()
		return m.rollback(err)
	}
	x.dropNet()
	m.measure()
	return nil
}

// lazy migrates post-copy to the other host: the source is dumped with lazy
// pages (frozen, its page server on loopback behind mycr's relay), the
// images go over the stream, the target starts `criu lazy-pages` whose page
// requests come back through the stream to the relay, the target restores
// and runs, and once its daemon has every page the source commits (CRIU
// kills the source). Before that any failure resumes the source and the
// target destroys its half.
func (x *remoteRun) lazy() error {
	m := x.m
	if err := m.canceled(); err != nil {
		return err
	}
	fds, undoExt, err := m.r.DumpExternals(m.c, m.state.InitProcessPid)
	if err != nil {
		return err
	}
	defer undoExt()
	m.extFds = fds
	m.o.Address, m.o.Port = "127.0.0.1", 0 // the relay: reached only by our tunnel
	l, err := m.listenForPages()
	if err != nil {
		return err
	}
	defer l.ln.Close()
	x.relayAddr = l.ln.Addr().String()
	undo, err := m.prepareLazyDump()
	if err != nil {
		return err
	}
	defer undo()
	if err := m.startLazyDump(l); err != nil {
		return err
	}
	defer l.status.Close()
	x.quiesceNet()
	if err := x.switchOver(l); err != nil {
		x.abortTarget(err)
		x.restoreNet()
		return m.abortLazy(l, err)
	}
	m.notify("%s runs on %s (pid %d); moving the rest of its memory", m.o.TargetID, x.rm.URL, m.rep.TargetPid)
	// Only now: pages queued in the stream would delay the switch's own frames.
	x.startPrefetch(l.relay)
	err = x.waitPages(l)
	if err == nil {
		err = x.commit()
	}
	if err != nil {
		x.abortTarget(err)
		x.restoreNet()
		return m.abortLazy(l, fmt.Errorf("%w; the target was destroyed", err))
	}
	m.commitLazy(l)
	x.dropNet()
	return nil
}

// switchOver sends the images, starts the target's lazy-pages daemon and
// restores the target, which then runs.
func (x *remoteRun) switchOver(l *lazyRun) error {
	var err error
	if l.relay, err = newPageRelay(l.ln, x.m.psAddr); err != nil {
		return fmt.Errorf("connect to the page server: %w", err)
	}
	x.m.relay.Store(l.relay)
	if err := x.sendImages(""); err != nil {
		return err
	}
	if err := x.m.canceled(); err != nil {
		return err
	}
	if err := x.link.w.Send(frameLazyStart, nil); err != nil {
		return linkLost(err)
	}
	if err := x.d.expect(frameLazyReady, nil); err != nil {
		return err
	}
	return x.restoreThere(true)
}

// waitPages waits until the target's daemon has every page (its CLOSE seen
// by the relay, its exit reported by the target), or something failed.
func (x *remoteRun) waitPages(l *lazyRun) error {
	m := x.m
	target := make(chan error, 1)
	go func() {
		f, err := x.d.next()
		if err == nil {
			err = decodeFrame(f, framePagesDone, nil)
		}
		target <- err
	}()
	closed, done := false, false
	for !closed || !done {
		select {
		case err := <-l.relay.ended:
			if err != nil {
				return err
			}
			closed, l.relay.ended = true, nil
		case err := <-target:
			if err != nil {
				return err
			}
			done = true
			if !closed {
				return waitRelayClosed(l.relay)
			}
		case err := <-l.dumpDone:
			return &dumpEndedError{err}
		case <-m.o.Ctx.Done():
			return m.canceled()
		}
	}
	return nil
}

// startPrefetch streams the lazy pages to the target ahead of its daemon
// (prefetch.go), if the target takes them.
func (x *remoteRun) startPrefetch(relay *pageRelay) {
	if !x.prefetch {
		return
	}
	ranges, err := lazyRanges(x.m.srcDir)
	if err != nil {
		x.m.notify("cannot read the dump's pagemaps (%v): pages move on request only", err)
		return
	}
	relay.startPrefetch(ranges, func(b []byte) error { return x.link.w.Send(framePrefetch, b) })
}
