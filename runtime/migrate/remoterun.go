package migrate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/mycr/mycr/runtime"
)

// RunRemote moves a running container to another host through ssh: the
// target runs `mycr migrate-receive`, which checks before anything freezes
// that it can restore the container, receives the images over the ssh
// stream (and, in lazy mode, serves the target's page faults through it),
// and keeps the container only once this side commits. Before the commit
// the source keeps running, or resumes: a lost link or a killed ssh session
// destroys the target. See docs/portable.md. A failed migration returns its
// report too (Runs, Error) beside the error.
func RunRemote(r *runtime.Root, o Opts, rm Remote) (*Report, error) {
	m := &migration{r: r, o: o, start: time.Now()}
	if m.o.Ctx == nil {
		m.o.Ctx = context.Background()
	}
	if m.o.TargetID == "" {
		m.o.TargetID = m.o.ID
	}
	var err error
	if m.o.Mode, err = checkMode(m.o.Mode); err != nil {
		return nil, err
	}
	if _, err := parseSSHURL(rm.URL); err != nil {
		return nil, err
	}
	if rm.Channel, err = CheckChannel(rm.Channel); err != nil {
		return nil, err
	}
	m.rep = &Report{ID: o.ID, TargetID: m.o.TargetID, TargetRoot: rm.Root, Host: rm.URL}
	lock, err := r.Lock(o.ID, "migrate")
	if err != nil {
		return nil, err
	}
	m.lock = lock
	defer func() { m.lock.Unlock() }()
	r.Recover(o.ID)
	if err := m.makeDirs(); err != nil {
		return nil, err
	}
	netID, err := m.loadRemote()
	if err != nil {
		m.removeTemp()
		return nil, err
	}
	oldUmask := unix.Umask(0o077)
	defer unix.Umask(oldUmask)
	link, err := dialSSH(rm, logrus.IsLevelEnabled(logrus.DebugLevel))
	if err != nil {
		m.removeTemp()
		return nil, err
	}
	x := &remoteRun{m: m, rm: rm, link: link, net: netID}
	err = x.run()
	m.rep.WireBytes = link.bytes()
	link.close()
	if err != nil {
		if m.freeze == nil {
			m.removeTemp() // nothing was dumped: no logs worth keeping
		} else {
			m.keepDirsOnFailure()
		}
		if errors.Is(err, errLinkLost) {
			err = link.explain(err)
		}
		m.rep.Runs, m.rep.Error = "source", err.Error()
		if !m.sourceRunning() {
			m.rep.Runs = "none"
		}
		return m.rep, err
	}
	m.rep.Runs = "target"
	m.finish()
	return m.rep, nil
}

// loadRemote opens the source under its lock; the bundle is the target's to check.
// It returns the container's network identity, if it has one to move.
func (m *migration) loadRemote() (*wireNet, error) {
	c, err := m.r.Load(m.o.ID)
	if err != nil {
		return nil, err
	}
	status, err := c.Status()
	if err != nil {
		return nil, err
	}
	if status != libcontainer.Running {
		return nil, fmt.Errorf("cannot migrate container %s: it is %s (only a running container migrates)", m.o.ID, status)
	}
	if m.state, err = c.State(); err != nil {
		return nil, err
	}
	m.c, m.srcBundle = c, runtime.Bundle(c)
	if m.o.Bundle == "" {
		m.o.Bundle = m.srcBundle
	}
	_, spec, err := runtime.LoadBundle(m.srcBundle)
	if err != nil {
		return nil, fmt.Errorf("the source's bundle: %w", err)
	}
	if spec.Process != nil && spec.Process.Terminal {
		return nil, fmt.Errorf("container %s has a terminal: migration to another host does not carry terminals (the container was not touched)", m.o.ID)
	}
	var netID *wireNet
	if path := namedNetns(spec); path != "" {
		if netID, err = readNetIdentity(path); err != nil {
			return nil, fmt.Errorf("the network identity of %s: %w (the container was not touched)", m.o.ID, err)
		}
	}
	// For a rollback on this host: the container keeps its stdio.
	m.o.Launch.IO.Detach = true
	if m.o.Launch.IO.Stdio, err = runtime.ReopenStdio(m.state.InitProcessPid); err != nil {
		return nil, fmt.Errorf("take over the stdio of %s: %w", m.o.ID, err)
	}
	return netID, nil
}

// run checks with the target, then moves the container lazily or by
// stop-and-copy (a lazy dump refused before the switch falls back).
func (x *remoteRun) run() error {
	m := x.m
	mode := m.o.Mode
	if mode == Lazy {
		if why := lazyUnusable(m.r.Criu); why != "" {
			if m.o.NoFallback {
				return fmt.Errorf("lazy migration cannot work here: %s (the container was not touched)", why)
			}
			m.notify("lazy pages cannot work here (%s): falling back to stop-and-copy", why)
			m.rep.FallbackReason, mode = why, StopCopy
		}
	}
	if err := x.hello(mode); err != nil {
		return err
	}
	m.rep.Mode = mode
	if mode == StopCopy {
		return x.stopCopy()
	}
	err := x.lazy()
	why, ok := fallbackAfter(err, m.o.NoFallback)
	if !ok {
		return err
	}
	m.notify("%s; the container is running, falling back to stop-and-copy", why)
	m.rep.FallbackReason, m.rep.Mode = why, StopCopy
	if err := m.resetSourceDir(); err != nil {
		return err
	}
	return x.stopCopy()
}
