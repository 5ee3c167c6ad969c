package integration

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/sys/mountinfo"
)

// faultPoint is where in a CRIU run a fault is injected: when Pattern first
// appears in CRIU's log, or, with no Pattern, After the log appeared (CRIU started
// working on the request).
type faultPoint struct {
	Name    string
	Pattern string
	After   time.Duration
}

func (p faultPoint) String() string {
	if p.Pattern != "" {
		return p.Name
	}
	return fmt.Sprintf("%s %v", p.Name, p.After.Round(time.Millisecond))
}

// dumpPhases are lines CRIU 4.2 logs at the steps of a dump (log level 4, as
// libcontainer runs it), in order.
var dumpPhases = []faultPoint{
	{Name: "start of dump", Pattern: "Dumping processes"},
	{Name: "cgroup freeze", Pattern: "freezing cgroup"},
	{Name: "first task", Pattern: "Dumping task (pid"},
	{Name: "parasite injected", Pattern: "Putting parasite blob"},
	{Name: "memory pages", Pattern: "Dumping pages"},
	{Name: "task files", Pattern: "Dumping task cwd"},
	{Name: "cgroup image", Pattern: "Writing CG image"},
	{Name: "inventory", Pattern: "Writing image inventory"},
	{Name: "post-dump notification", Pattern: "Running post-dump scripts"},
	{Name: "network unlock", Pattern: "Running network-unlock scripts"},
	{Name: "unfreeze/kill tasks", Pattern: "Unfreezing tasks into"},
	{Name: "stats", Pattern: "Writing stats"},
}

// restorePhases are the steps of a restore.
var restorePhases = []faultPoint{
	{Name: "start of restore", Pattern: "Found task size"},
	{Name: "pre-restore", Pattern: "Running pre-restore scripts"},
	{Name: "root task forked", Pattern: "Forking task with 1 pid"},
	{Name: "setup-namespaces", Pattern: "Running setup-namespaces scripts"},
	{Name: "mount namespace", Pattern: "mnt-v2: Move mount"},
	{Name: "post-setup-namespaces", Pattern: "Running post-setup-namespaces scripts"},
	{Name: "children forked", Pattern: "Restoring children in our session"},
	{Name: "restorer blob", Pattern: "Switched to the restorer"},
	{Name: "post-restore notification", Pattern: "Running post-restore scripts"},
	{Name: "network unlock", Pattern: "Running network-unlock scripts"},
	{Name: "tasks trapped", Pattern: "was trapped"},
	{Name: "pre-resume", Pattern: "Running pre-resume scripts"},
	{Name: "resumed", Pattern: "Restore finished successfully"},
}

// faultSchedule returns n fault points: every phase once (as far as n allows),
// the rest at random delays up to span after CRIU started.
func faultSchedule(rnd *rand.Rand, phases []faultPoint, n int, span time.Duration) []faultPoint {
	if only := os.Getenv("MYCR_FAULT_ONLY"); only != "" { // replay one step n times
		var sel []faultPoint
		for _, p := range phases {
			if strings.Contains(p.Name, only) {
				sel = append(sel, p)
			}
		}
		if len(sel) > 0 {
			phases = nil
			for len(phases) < n {
				phases = append(phases, sel...)
			}
		}
	}
	var out []faultPoint
	for i := 0; i < n; i++ {
		if i < len(phases) {
			out = append(out, phases[i])
			continue
		}
		out = append(out, faultPoint{Name: "random", After: time.Duration(rnd.Int63n(int64(span)))})
	}
	return out
}

// awaitFault waits until fp is reached in the CRIU run whose log is logPath, as
// part of command p, and returns the criu processes p started (found as soon as
// the log appears, so the fault lands without a /proc scan). It returns nil if p
// ended first (or limit passed).
func awaitFault(p *Proc, logPath string, fp faultPoint, limit time.Duration) []int {
	deadline := time.Now().Add(limit)
	var (
		off     int64
		text    strings.Builder
		started time.Time
		criu    []int
	)
	buf := make([]byte, 1<<16)
	for time.Now().Before(deadline) && !p.Exited() {
		if f, err := os.Open(logPath); err == nil {
			if started.IsZero() {
				started = time.Now()
				criu = childPids(p.Pid(), "criu")
			}
			if fp.Pattern != "" {
				f.Seek(off, 0)
				for {
					n, _ := f.Read(buf)
					if n <= 0 {
						break
					}
					off += int64(n)
					text.Write(buf[:n])
				}
			}
			f.Close()
		}
		reached := !started.IsZero() && (fp.Pattern == "" && time.Since(started) >= fp.After ||
			fp.Pattern != "" && strings.Contains(text.String(), fp.Pattern))
		if reached {
			if len(criu) == 0 {
				criu = childPids(p.Pid(), "criu")
			}
			return criu
		}
		time.Sleep(200 * time.Microsecond)
	}
	return nil
}

// signalPids sends sig to pids (criu processes a test's command started).
func signalPids(pids []int, sig syscall.Signal) {
	for _, pid := range pids {
		_ = syscall.Kill(pid, sig)
	}
}

// childPids lists the live children of ppid whose command name is comm ("" = any).
func childPids(ppid int, comm string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, d := range ents {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(b)
		i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if i < 0 || j < i {
			continue
		}
		f := strings.Fields(s[j+1:])
		if len(f) < 2 || f[1] != strconv.Itoa(ppid) || f[0] == "Z" {
			continue
		}
		if comm == "" || s[i+1:j] == comm {
			out = append(out, pid)
		}
	}
	return out
}

// reapStopped makes sure criu processes a test stopped are not left behind: it
// kills those pids (still the same processes) once the command ended.
func reapStopped(t *testing.T, pids map[int]string) {
	t.Helper()
	for pid, start := range pids {
		if pidAlive(pid) && procStart(pid) == start {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("criu pid %d was still alive after the command ended; killed it", pid)
		}
	}
}

// tracedBy is the pid tracing pid (0: none).
func tracedBy(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
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

// cgroupProcs lists the processes in the cgroups named after id (freezer and
// pids hierarchies of cgroup v1, or the unified one).
func cgroupProcs(id string) []int {
	seen := map[int]bool{}
	for _, glob := range []string{"/sys/fs/cgroup/*/" + id + "/cgroup.procs", "/sys/fs/cgroup/*/*/" + id + "/cgroup.procs", "/sys/fs/cgroup/" + id + "/cgroup.procs"} {
		files, _ := filepath.Glob(glob)
		for _, f := range files {
			b, _ := os.ReadFile(f)
			for _, l := range strings.Fields(string(b)) {
				if n, err := strconv.Atoi(l); err == nil {
					seen[n] = true
				}
			}
		}
	}
	var out []int
	for p := range seen {
		out = append(out, p)
	}
	sort.Ints(out)
	return out
}

// cgroupDirs lists the cgroup directories named after id.
func cgroupDirs(id string) []string {
	var out []string
	for _, glob := range []string{"/sys/fs/cgroup/*/" + id, "/sys/fs/cgroup/*/*/" + id, "/sys/fs/cgroup/" + id} {
		m, _ := filepath.Glob(glob)
		out = append(out, m...)
	}
	return out
}

// mountsUnder lists mount points at or below any of dirs (host mount namespace).
func mountsUnder(dirs ...string) []string {
	var out []string
	for _, d := range dirs {
		if d == "" {
			continue
		}
		ms, err := mountinfo.GetMounts(mountinfo.PrefixFilter(d))
		if err != nil {
			continue
		}
		for _, m := range ms {
			out = append(out, m.Mountpoint)
		}
	}
	return out
}

// leakedMounts lists mounts mycr or CRIU may leave: anything under --root
// (criu-root of a restore), CRIU's cgroup yards (.criu.cgyard.*) in image or
// work dirs. The test's own mounts (tmpfs image dirs) are not counted.
func (e *Env) leakedMounts() []string {
	var out []string
	for _, m := range mountsUnder(e.Root, e.Dir) {
		if strings.HasPrefix(m, e.Root) || strings.Contains(m, "/.criu.") {
			out = append(out, m)
		}
	}
	return out
}

// ExpectNothingLeft checks a container that must not exist left nothing behind: no
// state, no process or dir in its cgroups, no mount under --root or the scratch
// dir (bundles' rootfs), no intent or lock record.
func (e *Env) ExpectNothingLeft(id, context string) {
	e.t.Helper()
	e.ExpectNoState(context)
	if ps := cgroupProcs(id); len(ps) > 0 {
		e.t.Errorf("%s: processes %v are still in the cgroups of %s", context, ps, id)
	}
	if ds := cgroupDirs(id); len(ds) > 0 {
		e.t.Errorf("%s: cgroup dirs of %s are left: %v", context, id, ds)
	}
	if ms := e.leakedMounts(); len(ms) > 0 {
		e.t.Errorf("%s: mounts left: %v", context, ms)
	}
}

// ExpectHealthy checks a container a fault did not get: running (so not frozen),
// the same process, counting on, not traced, no criu left from the command, and
// no interrupted-operation record.
func (e *Env) ExpectHealthy(c *Counter, before int) {
	e.t.Helper()
	e.ExpectRunningNotPaused(c.ID, c.Pid)
	WaitCounterAbove(e.t, c.Count, max(before, MustCounter(e.t, c.Count))+2, 10*time.Second)
	if tr := tracedBy(c.Pid); tr != 0 {
		e.t.Errorf("container %s init %d is still traced by %d", c.ID, c.Pid, tr)
	}
	if ents, _ := os.ReadDir(filepath.Join(e.Root, ".intent")); len(ents) > 0 {
		e.t.Errorf("an interrupted-operation record is left: %v", ents[0].Name())
	}
	if ms := e.leakedMounts(); len(ms) > 0 {
		e.t.Errorf("mounts left: %v", ms)
	}
}

// reliabilityResult is one line of docs/reliability.md: what was injected how many
// times and what came of it. Tests log it; integration/reliabilityreport reads it
// (its result type mirrors this one: the JSON is the contract).
type reliabilityResult struct {
	Test     string         `json:"test"`
	Fault    string         `json:"fault"`
	Trials   int            `json:"trials"`
	Outcomes map[string]int `json:"outcomes"`
	Note     string         `json:"note,omitempty"`
	// Before and After are leak counts (mounts, fds, cgroups, ...) around the trials.
	Before map[string]int `json:"before,omitempty"`
	After  map[string]int `json:"after,omitempty"`
}

// reliabilityMarker starts the log line integration/reliabilityreport looks for.
const reliabilityMarker = "RELIABILITY "

func logResult(t *testing.T, r reliabilityResult) {
	t.Helper()
	r.Test = t.Name()
	b, _ := json.Marshal(r)
	t.Log(reliabilityMarker + string(b))
}

// faultTrials is how often each fault is injected: MYCR_FAULT_TRIALS, default 3
// to keep `make test` short; `make reliability` runs 20.
func faultTrials() int { return envInt("MYCR_FAULT_TRIALS", 3) }

// newRand is a seeded source whose seed the test logs, to replay a failure with
// MYCR_FAULT_SEED.
func newRand(t *testing.T) *rand.Rand {
	seed := time.Now().UnixNano()
	if s, err := strconv.ParseInt(os.Getenv("MYCR_FAULT_SEED"), 10, 64); err == nil {
		seed = s
	}
	t.Logf("random seed %d (MYCR_FAULT_SEED replays it)", seed)
	return rand.New(rand.NewSource(seed))
}

// startWith is Start with a hook that adjusts the command before it starts
// (its own process group, extra environment).
func (e *Env) startWith(adjust func(*exec.Cmd), args ...string) *Proc {
	e.t.Helper()
	return e.start(Stdio{}, adjust, args...)
}

// waitPidsGone waits for processes (e.g. a criu orphaned by a killed mycr) to
// end by themselves; any still there after limit is killed (same process only)
// and reported.
func waitPidsGone(t *testing.T, pids []int, limit time.Duration) {
	t.Helper()
	starts := map[int]string{}
	for _, p := range pids {
		starts[p] = procStart(p)
	}
	deadline := time.Now().Add(limit)
	for _, p := range pids {
		for pidAlive(p) && procStart(p) == starts[p] && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	left := map[int]string{}
	for p, s := range starts {
		if pidAlive(p) && procStart(p) == s {
			left[p] = s
		}
	}
	reapStopped(t, left)
}

// counterAtDump reads the counter of a checkpointed-away container. The dump
// may have caught the shell between truncating the file and writing it: then
// the file stays empty until a restore, and this returns 0.
func counterAtDump(t *testing.T, path string) int {
	t.Helper()
	n, err := ReadCounter(path)
	if err != nil {
		t.Logf("%v at the dump; taking 0", err)
	}
	return n
}
