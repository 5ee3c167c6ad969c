// Package migrate live-migrates a running container from one state root to
// another: post-copy with CRIU's lazy pages (the source is frozen only while its
// non-memory state moves), or stop-and-copy. It drives runtime.Root's public
// lifecycle primitives (lock, load, dump, restore) and never leaves the
// container lost: before the switch the source keeps running.
package migrate

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mycr/mycr/runtime"
)

// Run moves a running container to o.Target: lazily (post-copy) by default,
// by stop-and-copy on request or when lazy pages cannot work here. On any
// failure before the switch the source container keeps running (or, in
// stop-and-copy after its dump, is restored on the source from its images).
func Run(r *runtime.Root, o Opts) (*Report, error) {
	m := &migration{r: r, dst: o.Target, o: o, start: time.Now()}
	if m.o.Ctx == nil {
		m.o.Ctx = context.Background()
	}
	if err := m.plan(); err != nil {
		return nil, err
	}
	lock, err := r.Lock(o.ID, "migrate")
	if err != nil {
		return nil, err
	}
	m.lock = lock
	defer func() { m.lock.Unlock() }()
	r.Recover(o.ID) // under the lock, before the container is loaded (m.load)
	if err := m.makeDirs(); err != nil {
		return nil, err
	}
	if err := m.load(); err != nil {
		m.removeTemp()
		return nil, err
	}
	// Images hold process memory: CRIU and the copy must create them 0600.
	oldUmask := unix.Umask(0o077)
	defer unix.Umask(oldUmask)
	if err := m.runWithFallback(); err != nil {
		m.keepDirsOnFailure()
		return nil, err
	}
	m.finish()
	return m.rep, nil
}

// runWithFallback runs the chosen mode and, if a lazy dump was refused before
// the switch (the source runs again), stop-and-copy unless NoFallback.
func (m *migration) runWithFallback() error {
	mode, why, err := chooseMode(m.o.Mode, m.o.NoFallback, func() string {
		if m.o.TargetID == m.o.ID && m.spec.Linux != nil && m.spec.Linux.CgroupsPath == "" {
			// The lazy target starts beside the frozen source, whose cgroup
			// (named after the ID) is still busy: "cgroup is not empty".
			return "on one host the target needs a cgroup of its own while the source is frozen: give --target-id"
		}
		return lazyUnusable(m.r.Criu)
	})
	if err != nil {
		m.removeTemp() // nothing ran: no logs worth keeping
		return err
	}
	if why != "" {
		m.notify("lazy pages cannot work here (%s): falling back to stop-and-copy, the container stays frozen while all its memory is copied", why)
		m.rep.FallbackReason = why
	}
	err = m.run(mode)
	why, ok := fallbackAfter(err, m.o.NoFallback)
	if !ok {
		return err
	}
	m.notify("%s; the container is running, falling back to stop-and-copy", why)
	m.rep.FallbackReason = why
	if err := m.resetSourceDir(); err != nil {
		return err
	}
	return m.run(StopCopy)
}

// chooseMode decides the first mode to try: lazy only where lazy pages work
// (unusable says why not, "" if they do), else stop-and-copy with the reason,
// or an error if noFallback.
func chooseMode(requested string, noFallback bool, unusable func() string) (mode, fallbackReason string, err error) {
	if requested != Lazy {
		return requested, "", nil
	}
	why := unusable()
	switch {
	case why == "":
		return Lazy, "", nil
	case noFallback:
		return "", "", fmt.Errorf("lazy migration cannot work here: %s (the container was not touched)", why)
	}
	return StopCopy, why, nil
}

// fallbackAfter tells whether a failed run may fall back to stop-and-copy
// (a lazy dump refused before the switch, with the source running again) and why.
func fallbackAfter(err error, noFallback bool) (why string, ok bool) {
	var refused *lazyRefusedError
	if noFallback || !errors.As(err, &refused) {
		return "", false
	}
	return "lazy migration failed before the switch: " + firstLineOf(refused.Err.Error()), true
}

// run runs one mode, once more without hardware breakpoints if CRIU hung on one.
func (m *migration) run(mode string) error {
	m.rep.Mode = mode
	attempt := func() error {
		// Before the lazy dump pins its page server (it copies this config),
		// and again per attempt: a failed target restore resets CRIU's config.
		fds, undo, err := m.r.DumpExternals(m.c, m.state.InitProcessPid)
		if err != nil {
			return err
		}
		defer undo()
		m.extFds = fds
		if mode == Lazy {
			return m.lazy()
		}
		return m.stopAndCopy()
	}
	return m.r.RetryAtBreakpoint(runtime.BreakpointRetry{
		LogPath: filepath.Join(m.srcDir, "dump.log"),
		Reset:   m.resetSourceDir,
		Notify:  func(msg string) { m.notify("%s", msg) },
		Final:   func(err error) bool { return errors.Is(err, errSwitchedOver) },
	}, attempt)
}
