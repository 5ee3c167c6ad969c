package runtime

import (
	"errors"
	"fmt"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"
)

// destroy kills every process of the container and removes its state and cgroups.
func destroy(c *libcontainer.Container) error {
	_ = c.Signal(unix.SIGKILL)
	for range 100 {
		if err := c.Signal(unix.Signal(0)); err != nil {
			return c.Destroy()
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("container init is still running 2s after SIGKILL")
}

// Delete removes a container: a stopped or created one always, a running one with force.
// With force it works from saved state alone, even if the container's processes are gone.
func (r *Root) Delete(id string, force bool) error {
	lock, err := r.Lock(id, "delete")
	if err != nil {
		return err
	}
	defer lock.Unlock()
	// Never remove a state dir through a mount: a restore that died leaves the
	// rootfs bind-mounted at <state dir>/criu-root.
	if err := unmountUnder(r.StateDir(id)); err != nil {
		return err
	}
	r.Recover(id)
	c, err := r.Load(id)
	if err != nil {
		if errors.Is(err, ErrNotExist) {
			// A half-written state dir (e.g. a create that died) is removed either way.
			if err := removeStateDir(r.StateDir(id)); err != nil {
				return err
			}
			if force {
				return nil
			}
		}
		return err
	}
	if force {
		err = destroy(c)
	} else {
		var status libcontainer.Status
		if status, err = c.Status(); err != nil {
			return err
		}
		switch status {
		case libcontainer.Stopped:
			err = c.Destroy()
		case libcontainer.Created:
			err = destroy(c)
		default:
			return fmt.Errorf("cannot delete container %s that is not stopped: %s (use --force)", id, status)
		}
	}
	return err
}
