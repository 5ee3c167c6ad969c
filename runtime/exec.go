package runtime

import (
	"fmt"

	"github.com/opencontainers/runc/libcontainer"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Exec runs an additional process in a running container. In the foreground it
// returns the process's exit status.
func Exec(c *libcontainer.Container, ps *specs.Process, o LaunchOpts) (int, error) {
	status, err := c.Status()
	if err != nil {
		return -1, err
	}
	if status == libcontainer.Stopped {
		return -1, fmt.Errorf("cannot exec in a stopped container: %w", libcontainer.ErrNotRunning)
	}
	if status == libcontainer.Paused {
		return -1, fmt.Errorf("cannot exec in a paused container: resume it first: %w", libcontainer.ErrPaused)
	}
	p, err := NewProcess(ps)
	if err != nil {
		return -1, err
	}
	p.SubCgroupPaths = o.SubCgroupPaths
	o.IO.Terminal = ps.Terminal
	return runProcess(c, p, ActRun, o)
}
