package runtime

import (
	"os"
	"os/signal"
	"sync"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/system"
	"github.com/opencontainers/runc/libcontainer/utils"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// reaper makes a foreground mycr behave like the container's process for its caller:
// signals are forwarded to it, orphans are reaped, its exit status becomes ours.
// Signals stay caught until mycr exits, as in runc: signal.Stop would cost another
// round trip per signal, and a SIGINT must not cut short the clean-up after the
// process exited.
type reaper struct {
	signals chan os.Signal
	caught  chan struct{} // closed once earlySignals are caught
}

// catching is the one signal.Notify of this process (see CatchSignals).
var catching struct {
	once    sync.Once
	rest    sync.Once
	signals chan os.Signal
	caught  chan struct{}
}

// CatchSignals starts catching, in the background, the signals that matter
// before the container's process starts: SIGCHLD (else its exit could be
// missed) and what terminals and service managers send. signal.Notify makes a
// round trip to the Go runtime's signal thread for each signal; all ~65 cost
// 1-2 ms here, which is why the rest waits for catchRest.
// A signal caught before the process exists is forwarded to it once it starts.
func CatchSignals() {
	catching.once.Do(func() {
		catching.signals = make(chan os.Signal, 2048)
		catching.caught = make(chan struct{})
		go func() {
			signal.Notify(catching.signals, earlySignals...)
			close(catching.caught)
		}()
	})
}

// catchRest catches every other signal too, as runc forwards every signal,
// once the process runs: off the path of a short container's start and exit.
func catchRest() {
	catching.rest.Do(func() { go signal.Notify(catching.signals) })
}

// earlySignals are caught before the container's process starts.
var earlySignals = []os.Signal{unix.SIGCHLD, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT,
	unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH}

// newReaper catches signals (unless CatchSignals already does); waitCaught
// must return before the process starts, so none is lost.
func newReaper(subreaper bool) *reaper {
	if subreaper {
		// Restored and double-forked processes must come back to us, not to pid 1.
		if err := system.SetSubreaper(1); err != nil {
			logrus.Warnf("cannot become a child subreaper: %v", err)
		}
	}
	CatchSignals()
	return &reaper{signals: catching.signals, caught: catching.caught}
}

func (r *reaper) waitCaught() { <-r.caught }

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
