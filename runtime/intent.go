package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/mycr/mycr/internal/atomicfile"
	"github.com/mycr/mycr/spec"
)

// Recover repairs what a mycr process that died in the middle of an operation
// on id left behind (it may wait for an orphaned CRIU, thaw, or remove a half
// restore), and says what happened (a warning on stderr/the log). It does
// nothing if there is no record, or if its process is still alive. Load does
// not call it: the verbs do, first (LoadForChange, Create, Restore, and the
// CLI's reading verbs).
func (r *Root) Recover(id string) {
	if spec.ValidateID(id) == nil { // the ID names the record's file
		r.recoverAs(id, 0)
	}
}

// recoverAs is recover for any command (guard 0), or for the guard of the mycr
// process guard (guard.go): that one handles only guard's record, and leaves
// what it did in it (Outcome) for the next command to report. It tells whether
// the operation is still going on (an orphaned CRIU still at work).
func (r *Root) recoverAs(id string, guard int) (pending bool) {
	path := r.intentPath(id)
	atomicfile.RemoveStale(path) // a record mycr was killed writing
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	// Two commands (or a command and the guard) may find the record at once:
	// one repairs, the other waits for it, to see the container repaired.
	if !flockWithin(f, 15*time.Second) {
		return false
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return false // the other one finished
	}
	var in intent
	if json.Unmarshal(data, &in) != nil {
		in = intent{}
	}
	if in.Outcome != "" {
		if guard == 0 {
			logrus.Warn(in.Outcome)
			removeIntent(path)
		}
		return false
	}
	if guard != 0 && in.Pid != guard {
		return false // another process's record
	}
	// The guard knows its process is gone (its pipe closed), even if not yet
	// reaped by its parent.
	if guard == 0 && in.Pid > 0 && in.PidStart != "" && procStart(in.Pid) == in.PidStart {
		return false // still in progress
	}
	msg := fmt.Sprintf("container %s: a %s by mycr pid %d (started %s) was interrupted", id, in.Op, in.Pid, in.Started.Format(time.RFC3339))
	var outcome string
	var done bool
	if in.Op == "restore" {
		outcome, done = r.recoverRestore(id, in)
	} else {
		outcome, done = r.recoverCheckpoint(id, in)
	}
	if outcome != "" {
		msg += "; " + outcome
	}
	if !done {
		if guard == 0 {
			logrus.Error(msg)
		}
		return true
	}
	logrus.Warn(msg)
	if guard != 0 {
		in.Outcome = msg + " (repaired at once by its guard)"
		if err := writeIntent(path, in); err != nil {
			logrus.Debugf("update %s: %v", path, err)
		}
		return false
	}
	removeIntent(path)
	return false
}

// flockWithin takes an exclusive flock on f, waiting up to limit.
func flockWithin(f *os.File, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// recoverCheckpoint handles an interrupted checkpoint (or migration): CRIU may
// still be finishing on its own (wait for it), the container may be left frozen
// (thaw it), or CRIU may have completed the dump and ended the processes (point
// at the images).
func (r *Root) recoverCheckpoint(id string, in intent) (string, bool) {
	c, err := libcontainer.Load(r.Dir, id)
	if err != nil {
		if !errors.Is(err, libcontainer.ErrNotExist) {
			return fmt.Sprintf("cannot load the container: %v", err), true
		}
		if imagesComplete(in.ImageDir) {
			return fmt.Sprintf("it had completed: the container was checkpointed to %s and removed", in.ImageDir), true
		}
		return "the container no longer exists", true
	}
	if tracer := waitUntraced(c, 10*time.Second); tracer != 0 {
		return fmt.Sprintf("CRIU (pid %d) is still working on the container; run the command again once it is done", tracer), false
	}
	if !in.WasPaused && stuckFreezing(c) { // Status would wait for it forever
		keepRunning(c, false)
	}
	st, err := c.Status()
	switch {
	case err != nil:
		return fmt.Sprintf("cannot read the container's status: %v", err), true
	case st == libcontainer.Paused && !in.WasPaused:
		if err := c.Resume(); err != nil {
			return fmt.Sprintf("the container is frozen and thawing it failed: %v; run `mycr resume %s`", err, id), false
		}
		return "the container was left frozen and has been thawed", true
	case st == libcontainer.Stopped && imagesComplete(in.ImageDir):
		return fmt.Sprintf("the dump had completed and CRIU ended the container's processes: the images in %s hold them; "+
			"`mycr delete %s`, then `mycr restore --image-path %s %s`", in.ImageDir, id, in.ImageDir, id), true
	case st == libcontainer.Stopped:
		return "the container's processes are gone and no complete checkpoint exists", true
	}
	return fmt.Sprintf("the container is %s", st), true
}

// imagesComplete tells whether dir holds a finished CRIU dump (CRIU writes the
// inventory last).
func imagesComplete(dir string) bool {
	if dir == "" {
		return false
	}
	_, err := os.Stat(filepath.Join(dir, "inventory.img"))
	return err == nil
}

// waitUntraced waits (up to limit) until no process of c is traced, as by an
// orphaned CRIU still dumping it, and returns the tracer if one remains.
func waitUntraced(c *libcontainer.Container, limit time.Duration) int {
	deadline := time.Now().Add(limit)
	for {
		pids, _ := c.Processes()
		tracer := 0
		for _, p := range pids {
			if t := tracerOf(p); t != 0 {
				tracer = t
				break
			}
		}
		if tracer == 0 || time.Now().After(deadline) {
			return tracer
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// tracerOf is the TracerPid of pid (0: none).
func tracerOf(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "TracerPid:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}
