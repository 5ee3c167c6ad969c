package runtime

import (
	"os"
	"os/signal"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/system"
	"github.com/opencontainers/runc/libcontainer/utils"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// reaper makes a foreground mycr behave like the container's process for its caller:
// signals are forwarded to it, orphans are reaped, its exit status becomes ours.
type reaper struct {
	signals chan os.Signal
}

// newReaper starts catching signals before the process exists, so none is lost.
func newReaper(subreaper bool) *reaper {
	if subreaper {
		// Restored and double-forked processes must come back to us, not to pid 1.
		if err := system.SetSubreaper(1); err != nil {
			logrus.Warnf("cannot become a child subreaper: %v", err)
		}
	}
	r := &reaper{signals: make(chan os.Signal, 2048)}
	signal.Notify(r.signals)
	return r
}

func (r *reaper) stop() { signal.Stop(r.signals) }

// wait forwards signals to p until it exits and returns its exit status.
func (r *reaper) wait(p *libcontainer.Process) (int, error) {
	pid, err := p.Pid()
	if err != nil {
		return -1, err
	}
	for sig := range r.signals {
		switch sig {
		case unix.SIGCHLD:
			if status, done := reapAll(pid); done {
				return status, nil
			}
		case unix.SIGWINCH, unix.SIGURG, unix.SIGPIPE:
			// the console handles resizes; SIGURG is the Go runtime's own preemption signal
		default:
			if err := unix.Kill(pid, sig.(unix.Signal)); err != nil {
				logrus.Debugf("forward %v to %d: %v", sig, pid, err)
			}
		}
	}
	return -1, nil
}

// reapAll collects every exited child; done reports that pid was one of them.
func reapAll(pid int) (status int, done bool) {
	for {
		var ws unix.WaitStatus
		var ru unix.Rusage
		child, err := unix.Wait4(-1, &ws, unix.WNOHANG, &ru)
		if err != nil || child <= 0 {
			return status, done
		}
		if child == pid {
			status, done = utils.ExitStatus(ws), true
		}
	}
}
