package migrate

import (
	"errors"
	"fmt"
	"net"

	"github.com/opencontainers/runc/libcontainer"

	"github.com/mycr/mycr/runtime"
	"github.com/mycr/mycr/spec"
)

// plan checks everything that can be checked before the container is touched.
func (m *migration) plan() error {
	o := &m.o
	if o.Target == nil {
		return errors.New("no target: pass --to-root DIR")
	}
	if o.TargetID == "" {
		o.TargetID = o.ID
	}
	for _, id := range []string{o.ID, o.TargetID} {
		if err := spec.ValidateID(id); err != nil {
			return err
		}
	}
	if o.Target.Dir == m.r.Dir && o.TargetID == o.ID {
		return fmt.Errorf("the target is the source itself: pass another --to-root or a --target-id")
	}
	if o.Target.Exists(o.TargetID) {
		return fmt.Errorf("container %s already exists in %s: pick another --target-id", o.TargetID, o.Target.Dir)
	}
	var err error
	if o.Mode, err = checkMode(o.Mode); err != nil {
		return err
	}
	if o.Address, err = checkPageAddress(o.Address, o.Port); err != nil {
		return err
	}
	m.rep = &Report{ID: o.ID, TargetID: o.TargetID, TargetRoot: o.Target.Dir}
	return nil
}

// checkMode validates --mode; "" is Lazy.
func checkMode(mode string) (string, error) {
	switch mode {
	case "":
		return Lazy, nil
	case Lazy, StopCopy:
		return mode, nil
	}
	return "", fmt.Errorf("invalid --mode %q: use %s or %s", mode, Lazy, StopCopy)
}

// checkPageAddress validates where the target fetches pages: a loopback
// address ("" is 127.0.0.1) and a port (0: any free one).
func checkPageAddress(addr string, port int) (string, error) {
	if addr == "" {
		addr = "127.0.0.1"
	}
	if ip := net.ParseIP(addr); ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("--address %q: only a loopback address is supported (both roots on this machine); see docs/portable.md for two hosts", addr)
	}
	if port < 0 || port > 65535 {
		return "", fmt.Errorf("invalid --port %d", port)
	}
	return addr, nil
}

// load opens the source (under its lock) and the target's bundle.
func (m *migration) load() error {
	c, err := m.r.Load(m.o.ID)
	if err != nil {
		return err
	}
	status, err := c.Status()
	if err != nil {
		return err
	}
	if status != libcontainer.Running {
		return fmt.Errorf("cannot migrate container %s: it is %s (only a running container migrates; resume a paused one first)", m.o.ID, status)
	}
	if m.state, err = c.State(); err != nil {
		return err
	}
	m.c, m.srcBundle = c, runtime.Bundle(c)
	if err := m.loadTarget(); err != nil {
		return err
	}
	// A move keeps the container's stdio (a log file, a daemon's pipes) unless
	// the caller gave other stdio; a terminal container gets a new pty instead.
	if m.o.Launch.IO.Stdio == nil && !m.o.Launch.IO.Terminal {
		if m.o.Launch.IO.Stdio, err = runtime.ReopenStdio(m.state.InitProcessPid); err != nil {
			return fmt.Errorf("take over the stdio of %s: %w", m.o.ID, err)
		}
	}
	return nil
}

// loadTarget reads the target's bundle (default: the source's), remaps its
// bind mounts and checks that the target can restore it.
func (m *migration) loadTarget() error {
	bundle := m.o.Bundle
	if bundle == "" {
		bundle = m.srcBundle
	}
	var err error
	if m.bundle, m.spec, err = runtime.LoadBundle(bundle); err != nil {
		return fmt.Errorf("target bundle: %w (the container was not touched)", err)
	}
	if err := runtime.RemapMounts(m.spec, m.o.RemapMounts); err != nil {
		return err
	}
	if err := runtime.CheckBindSources(m.spec); err != nil {
		return fmt.Errorf("the target cannot restore it: %w (the container was not touched)", err)
	}
	m.o.Launch.IO.Detach = true
	m.o.Launch.IO.Terminal = m.spec.Process.Terminal
	if err := runtime.CheckTerminal(m.o.Launch.IO); err != nil {
		return fmt.Errorf("%w: a container with a terminal needs --console-socket for its new pty", err)
	}
	return nil
}
