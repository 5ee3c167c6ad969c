package runtime

import (
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
)

// GuardVerb is the hidden mycr command a checkpoint's guard runs: `mycr [log
// flags] --root DIR guard ID PID`, with the read end of a pipe on fd 3.
//
// A mycr killed (SIGKILL, OOM) in the middle of a checkpoint leaves the
// container frozen: mycr freezes the cgroup before CRIU runs (preFreeze), and
// CRIU leaves a cgroup it found frozen frozen, whether it fails (its next
// notification to the dead mycr fails) or completes. Without a guard only the
// next mycr command on the container would thaw it, however late that comes.
// The guard holds the pipe's read end; mycr holds the write end, which no other
// process inherits (close-on-exec). When mycr is gone the pipe reads EOF, and
// if mycr's record of the checkpoint is still there the guard repairs at once
// (recover: wait for CRIU, thaw, or name the completed images) and leaves what
// it did in the record for the next command to report.
const GuardVerb = "guard"

// guardLimit bounds how long a guard waits for an orphaned CRIU to finish
// before it leaves the record to a later command.
const guardLimit = 10 * time.Minute

// startGuard starts id's guard; the returned func, called once the record of
// the operation is removed, lets it go. A guard that cannot start only costs
// the prompt repair: the next command still recovers.
func (r *Root) startGuard(id string) func() {
	pr, pw, err := os.Pipe()
	if err != nil {
		logrus.Debugf("no guard for %s: %v", id, err)
		return func() {}
	}
	cmd := r.guardCommand(id)
	cmd.ExtraFiles = []*os.File{pr}
	// Its own session: a terminal's Ctrl-C or hangup for mycr's group is not for it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	pr.Close()
	if err != nil {
		pw.Close()
		logrus.Debugf("no guard for %s: %v", id, err)
		return func() {}
	}
	go cmd.Wait() //nolint:errcheck // reaps it; it exits once pw closes
	return func() { pw.Close() }
}

// guardWaiter is what waits on the pipe: a shell costs a checkpoint about 5 ms
// of CPU where starting the Go mycr costs about 29 ms (measured on a loaded
// 2-core machine, whose other core runs CRIU then). It execs `mycr guard` only
// if the pipe closes while a record of id is left.
const guardWaiter = `while read -r _; do :; done <&3; [ -e "$1" ] && shift && exec "$@"`

// guardCommand is the guard of id: `mycr guard`, behind the shell waiter if
// there is a shell.
func (r *Root) guardCommand(id string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		exe = "/proc/self/exe"
	}
	args := append(append([]string{exe}, r.GuardFlags...), "--root", r.Dir, GuardVerb, id, strconv.Itoa(os.Getpid()))
	if _, err := os.Stat("/bin/sh"); err != nil {
		return exec.Command(args[0], args[1:]...)
	}
	return exec.Command("/bin/sh", append([]string{"-c", guardWaiter, "mycr-guard", r.intentPath(id)}, args...)...)
}

// RunGuard is the guard's side (see GuardVerb): it waits until the mycr
// process pid closes pipe, then repairs what pid left of its operation on id.
func (r *Root) RunGuard(id string, pid int, pipe *os.File) {
	_, _ = io.Copy(io.Discard, pipe) // returns at EOF: pid exited, or finished
	pipe.Close()
	deadline := time.Now().Add(guardLimit)
	for r.recoverAs(id, pid) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond) // CRIU still works on the container
	}
}
