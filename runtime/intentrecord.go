package runtime

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mycr/mycr/internal/atomicfile"
	"github.com/sirupsen/logrus"
)

// intent records, before CRIU runs, that a mycr process is checkpointing (or
// restoring, migrating) a container. If that process dies (SIGKILL, OOM, power to
// the daemon cut) the container may be left frozen, or half restored; the next
// command on that ID sees the record of a dead process, repairs what it can and
// says what happened (see Recover).
type intent struct {
	Op        string    `json:"op"`
	Pid       int       `json:"pid"`
	PidStart  string    `json:"pid_start"`
	WasPaused bool      `json:"was_paused"`
	Started   time.Time `json:"started"`
	// ImageDir is where the checkpoint goes (or the restore comes from).
	ImageDir string `json:"image_dir,omitempty"`
	// LogPath is CRIU's log of a restore (it names CRIU's cgroup yard).
	LogPath string `json:"log,omitempty"`
	// CgroupPaths are the cgroups of a container being restored, so that a
	// half-restored one can be emptied and removed even without its state.
	CgroupPaths map[string]string `json:"cgroup_paths,omitempty"`
	// Outcome is what the guard of the dead process did (guard.go): the next
	// command reports it and removes the record.
	Outcome string `json:"outcome,omitempty"`
}

func (r *Root) intentPath(id string) string { return filepath.Join(r.Dir, ".intent", id+".json") }

// beginIntent writes the record; the returned func removes it.
func (r *Root) beginIntent(id, op string, wasPaused bool) (func(), error) {
	return r.beginIntentAt(id, intent{Op: op, WasPaused: wasPaused})
}

// beginIntentAt writes in (with this process's identity) as id's record.
func (r *Root) beginIntentAt(id string, in intent) (func(), error) {
	path := r.intentPath(id)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	in.Pid, in.PidStart, in.Started = os.Getpid(), procStart(os.Getpid()), time.Now().UTC()
	if err := writeIntent(path, in); err != nil {
		return nil, err
	}
	return func() { os.Remove(path) }, nil
}

// writeIntent replaces the record atomically: a reader never sees half of it.
func writeIntent(path string, in intent) error {
	data, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, data, 0o600)
}

// updateIntent adds to the record of a running operation of this process.
func (r *Root) updateIntent(id string, change func(*intent)) {
	path := r.intentPath(id)
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var in intent
	if json.Unmarshal(data, &in) != nil || in.Pid != os.Getpid() {
		return
	}
	change(&in)
	if err := writeIntent(path, in); err != nil {
		logrus.Debugf("update %s: %v", path, err)
	}
}

func removeIntent(path string) {
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
