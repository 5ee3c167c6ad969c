package runtime

import (
	"fmt"
	"os"

	"github.com/opencontainers/runc/libcontainer"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Action is what Launch does with the container's init process.
type Action int

const (
	ActCreate  Action = iota // start init, stop before the user process (create)
	ActRun                   // start init and the user process (run)
	ActRestore               // let CRIU bring back the process tree (restore)
)

// LaunchOpts are the CLI-facing options shared by create, run, restore and exec.
type LaunchOpts struct {
	IO          IOConfig
	PidFile     string
	NoSubreaper bool
	PreserveFDs int
	// Restore runs the restore with these options (ActRestore only); it wraps
	// libcontainer's Restore so the criu package can watch and explain it.
	Restore func(*libcontainer.Container, *libcontainer.Process) error
	// Started, if set, runs once the process runs (pid file written), before
	// the foreground wait: exec releases the container's lock there.
	Started func()
	// SubCgroupPaths puts an exec'd process into sub-cgroups of the container's
	// (libcontainer's controller -> path map, exec --cgroup).
	SubCgroupPaths map[string]string
	// IgnorePaused lets exec start a process in a paused container (exec
	// --ignore-paused); it stays frozen until the container resumes.
	IgnorePaused bool
	// PidfdSocket, if set, is a unix socket that receives a pidfd of the
	// process (create, run, exec --pidfd-socket; see pidfdSocket).
	PidfdSocket string
}

// Launch starts (or restores) the container's init and, in the foreground, waits for it
// and returns its exit status. On failure the container is destroyed: nothing is left.
func Launch(c *libcontainer.Container, ps *specs.Process, act Action, o LaunchOpts) (status int, err error) {
	destroyOnErr := func() {
		if err != nil {
			_ = c.Destroy()
		}
	}
	defer destroyOnErr()
	p, err := NewProcess(ps)
	if err != nil {
		return -1, err
	}
	p.Init = true
	return runProcess(c, p, act, o)
}

// runProcess is the part Launch shares with exec: stdio, start, pid file, wait.
func runProcess(c *libcontainer.Container, p *libcontainer.Process, act Action, o LaunchOpts) (int, error) {
	if err := addPreservedFDs(p, o.PreserveFDs); err != nil {
		return -1, err
	}
	detach := o.IO.Detach || act == ActCreate
	o.IO.Detach = detach
	var reaper *reaper
	if !detach {
		reaper = newReaper(!o.NoSubreaper)
	}
	io, err := setupIO(p, c, o.IO)
	if err != nil {
		return -1, err
	}
	defer io.close()
	closePidfd, err := pidfdSocket(p, o.PidfdSocket)
	if err != nil {
		return -1, err
	}
	defer closePidfd()
	if reaper != nil {
		reaper.waitCaught()
	}

	switch act {
	case ActCreate:
		err = c.Start(p)
	case ActRun:
		err = c.Run(p)
	case ActRestore:
		err = o.Restore(c, p)
	}
	if err != nil {
		return -1, err
	}
	if err := io.started(); err != nil {
		kill(p)
		return -1, err
	}
	if o.PidFile != "" {
		pid, err := p.Pid()
		if err == nil {
			err = WritePidFile(o.PidFile, pid)
		}
		if err != nil {
			kill(p)
			return -1, fmt.Errorf("write pid file %s: %w", o.PidFile, err)
		}
	}
	if o.Started != nil {
		o.Started()
	}
	if detach {
		return 0, nil
	}
	catchRest()
	status, err := reaper.wait(p)
	if err != nil {
		kill(p)
		return -1, err
	}
	return status, nil
}

func kill(p *libcontainer.Process) {
	_ = p.Signal(unix.SIGKILL)
	_, _ = p.Wait()
}

// addPreservedFDs passes fds 3..3+n-1 of mycr on to the process (--preserve-fds).
func addPreservedFDs(p *libcontainer.Process, n int) error {
	base := 3 + len(p.ExtraFiles)
	for fd := base; fd < base+n; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			return fmt.Errorf("preserved fd %d (of %d) is not open: %w", fd-base, n, err)
		}
		p.ExtraFiles = append(p.ExtraFiles, os.NewFile(uintptr(fd), fmt.Sprintf("preserved-fd-%d", fd)))
	}
	return nil
}
