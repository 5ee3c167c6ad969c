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
)

// intent records, before CRIU runs, that a mycr process is checkpointing a
// container. If that process dies (SIGKILL, OOM, power to the daemon cut) the
// container may be left frozen; the next command that loads it sees the record
// of a dead process and thaws the container.
type intent struct {
	Op        string    `json:"op"`
	Pid       int       `json:"pid"`
	PidStart  string    `json:"pid_start"`
	WasPaused bool      `json:"was_paused"`
	Started   time.Time `json:"started"`
}

func (r *Root) intentPath(id string) string { return filepath.Join(r.Dir, ".intent", id+".json") }

// beginIntent writes the record; the returned func removes it.
func (r *Root) beginIntent(id, op string, wasPaused bool) (func(), error) {
	path := r.intentPath(id)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	data, err := json.Marshal(intent{Op: op, Pid: os.Getpid(), PidStart: procStart(os.Getpid()), WasPaused: wasPaused, Started: time.Now().UTC()})
	if err != nil {
		return nil, err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, err
	}
	return func() { os.Remove(path) }, nil
}

// recoverInterrupted thaws a container whose checkpoint was interrupted by the
// death of the mycr process doing it, and says so.
func (r *Root) recoverInterrupted(c *libcontainer.Container) {
	path := r.intentPath(c.ID())
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var in intent
	if json.Unmarshal(data, &in) == nil && in.Pid > 0 && procStart(in.Pid) == in.PidStart && in.PidStart != "" {
		return // still in progress
	}
	msg := fmt.Sprintf("container %s: a %s by mycr pid %d (started %s) was interrupted", c.ID(), in.Op, in.Pid, in.Started.Format(time.RFC3339))
	if st, err := c.Status(); err == nil && st == libcontainer.Paused && !in.WasPaused {
		if err := c.Resume(); err != nil {
			logrus.Errorf("%s and the container is frozen; thawing failed: %v", msg, err)
			return
		}
		msg += "; the container was left frozen and has been thawed"
	}
	logrus.Warn(msg)
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		logrus.Debugf("remove %s: %v", path, err)
	}
}

// procStart is a process's start time (field 22 of /proc/PID/stat), to tell a
// live process from a later one that reused its pid.
func procStart(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		if f := strings.Fields(s[i+1:]); len(f) > 19 {
			return f[19]
		}
	}
	return ""
}
