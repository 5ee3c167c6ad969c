package runtime

import (
	"fmt"

	"github.com/opencontainers/runc/libcontainer"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Exec runs an additional process in a running container. In the foreground it
// returns the process's exit status. A paused container is refused unless
// o.IgnorePaused: the process then starts frozen and runs once the container resumes.
func Exec(c *libcontainer.Container, ps *specs.Process, o LaunchOpts) (int, error) {
	status, err := c.Status()
	if err != nil {
		return -1, err
	}
	if status == libcontainer.Stopped {
		return -1, fmt.Errorf("cannot exec in a stopped container: %w", libcontainer.ErrNotRunning)
	}
	if status == libcontainer.Paused && !o.IgnorePaused {
		return -1, fmt.Errorf("cannot exec in a paused container (resume it first, or use --ignore-paused to start the process frozen until resume): %w", libcontainer.ErrPaused)
	}
	p, err := NewProcess(ps)
	if err != nil {
		return -1, err
	}
	p.SubCgroupPaths = o.SubCgroupPaths
	o.IO.Terminal = ps.Terminal
	return runProcess(c, p, ActRun, o)
}
