package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestLifecycle walks one container through every non-C/R command a user runs,
// checking what each shows: create, state, start, ps, exec, pause/resume, list,
// events --stats, update, kill, delete.
func TestLifecycle(t *testing.T) {
	e := NewEnv(t)
	vol := e.Mkdir("out")
	count := filepath.Join(vol, "count")
	// pid 1 of a pid namespace ignores SIGTERM without a handler: trap it.
	bundle := e.NewBundle(Shell(`trap "exit 0" TERM; `+counterScript), Bind(vol, "/out"))
	id := e.ID("life")

	pidFile := filepath.Join(e.Dir, "pidfile")
	e.MustRun("create", "--pid-file", pidFile, "--bundle", bundle, id)
	s := e.ExpectStatus(id, "created")
	if b, err := os.ReadFile(pidFile); err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(s.Pid) {
		t.Errorf("--pid-file holds %q (%v), want the state's pid %d", b, err, s.Pid)
	}
	if s.Pid <= 0 || !pidAlive(s.Pid) {
		t.Fatalf("created container: pid %d is not a live process (state %+v)", s.Pid, s)
	}
	if s.ID != id {
		t.Errorf("state id %q, want %q", s.ID, id)
	}
	if abs, _ := filepath.Abs(bundle); s.Bundle != abs {
		t.Errorf("state bundle %q, want %q", s.Bundle, abs)
	}
	time.Sleep(300 * time.Millisecond)
	if _, err := os.Stat(count); err == nil {
		t.Fatalf("the user process ran before start: %s exists", count)
	}

	e.MustRun("start", id)
	s = e.WaitStatus(id, "running", 5*time.Second)
	pid := s.Pid
	WaitCounterAbove(t, count, 2, 5*time.Second)

	t.Run("ps", func(t *testing.T) {
		r := e.MustRun("ps", id)
		if !containsField(r.Stdout, strconv.Itoa(pid)) {
			t.Errorf("ps does not list the container's pid %d:\n%s", pid, r)
		}
		r = e.MustRun("ps", "--format", "json", id)
		var pids []int
		if err := json.Unmarshal([]byte(r.Stdout), &pids); err != nil {
			t.Fatalf("ps --format json: not a JSON list of pids: %v\n%s", err, r)
		}
		if !slices.Contains(pids, pid) {
			t.Errorf("ps --format json: %v does not hold the container's pid %d", pids, pid)
		}
	})

	t.Run("exec", func(t *testing.T) {
		r := e.MustRun("exec", id, "echo", "hi")
		if r.Stdout != "hi\n" {
			t.Errorf("exec echo hi printed %q, want %q\n%s", r.Stdout, "hi\n", r)
		}
		r = e.Run("exec", id, "sh", "-c", "exit 3")
		if r.Code != 3 {
			t.Errorf("exec of a command exiting 3: exit code %d, want 3\n%s", r.Code, r)
		}
		// exec's own failures exit 255 as runc's, apart from any process status.
		for _, args := range [][]string{
			{"exec", "--pid-file", "/nonexistent/dir/pid", id, "true"},
			{"exec", id, "no-such-binary"},
			{"exec", "--cgroup", "nosuch-subcgroup", id, "true"},
		} {
			if r := e.Run(args...); r.Code != 255 || !strings.Contains(r.Stderr, "exec failed") {
				t.Errorf("%v: exit %d, want 255 and \"exec failed\"\n%s", args, r.Code, r)
			}
		}
	})

	t.Run("exec-detached", func(t *testing.T) {
		r := e.MustRun("exec", "-d", id, "sh", "-c", "sleep 0.2; echo bg > /out/bg")
		if r.Dur > 2*time.Second {
			t.Errorf("exec -d took %v: it should not wait for the process", r.Dur)
		}
		waitFor(t, 5*time.Second, "the detached exec to write /out/bg", func() (bool, string) {
			b, err := os.ReadFile(filepath.Join(vol, "bg"))
			return err == nil && string(b) == "bg\n", fmt.Sprintf("%q %v", b, err)
		})
	})

	t.Run("exec-process-file", func(t *testing.T) {
		proc := filepath.Join(e.Dir, "process.json")
		b, _ := json.Marshal(specs.Process{
			Args: []string{"sh", "-c", "echo from-json-$FOO in $(pwd)"},
			Env:  []string{"PATH=/bin", "FOO=bar"},
			Cwd:  "/tmp",
		})
		if err := os.WriteFile(proc, b, 0o644); err != nil {
			t.Fatal(err)
		}
		r := e.MustRun("exec", "--process", proc, id)
		if r.Stdout != "from-json-bar in /tmp\n" {
			t.Errorf("exec --process printed %q, want %q\n%s", r.Stdout, "from-json-bar in /tmp\n", r)
		}
	})

	t.Run("exec-tty", func(t *testing.T) {
		cs := NewConsoleSocket(t)
		e.MustRun("exec", "-d", "-t", "--console-socket", cs.Path, id, "sh")
		m := cs.Master(t, 10*time.Second)
		WriteAll(t, m, "tty -s && echo tty-$((2+3))\n")
		ReadUntil(t, m, "tty-5", 10*time.Second)
		WriteAll(t, m, "exit\n")
	})

	t.Run("pause-resume", func(t *testing.T) {
		e.MustRun("pause", id)
		e.ExpectStatus(id, "paused")
		frozen := ExpectCounterStill(t, count, 600*time.Millisecond)
		e.MustRun("resume", id)
		e.ExpectStatus(id, "running")
		WaitCounterAbove(t, count, frozen, 5*time.Second)
	})

	t.Run("list", func(t *testing.T) {
		l, r := e.List()
		if len(l) != 1 || l[0].ID != id || l[0].Status != "running" || l[0].Pid != pid {
			t.Errorf("list --format json: want one running %s with pid %d, got %+v\n%s", id, pid, l, r)
		}
		for _, args := range [][]string{{"list"}, {"list", "--format", "table"}} {
			r := e.MustRun(args...)
			lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
			if len(lines) != 2 || !strings.Contains(lines[0], "ID") || !strings.Contains(lines[0], "STATUS") {
				t.Errorf("%v: want a header and one row:\n%s", args, r)
				continue
			}
			f := strings.Fields(lines[1])
			if len(f) < 3 || f[0] != id || f[1] != strconv.Itoa(pid) || f[2] != "running" {
				t.Errorf("%v: row %q, want %q %d running ...", args, lines[1], id, pid)
			}
		}
	})

	t.Run("update-memory", func(t *testing.T) {
		const limit = 64 << 20
		e.MustRun("update", "--memory", strconv.Itoa(limit), id)
		// cgroup v1 (this machine): the container sees its own memory cgroup.
		r := e.Run("exec", id, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
		if r.Code != 0 {
			r = e.Run("exec", id, "cat", "/sys/fs/cgroup/memory.max") // cgroup v2
		}
		if strings.TrimSpace(r.Stdout) != strconv.Itoa(limit) {
			t.Errorf("after update --memory %d the container's cgroup limit reads %q\n%s", limit, strings.TrimSpace(r.Stdout), r)
		}
		ev := eventsStats(t, e, id)
		if got := ev.Data.Memory.Usage.Limit; got != limit {
			t.Errorf("events --stats: memory.usage.limit %d, want %d", got, limit)
		}
	})

	t.Run("events-stats", func(t *testing.T) {
		ev := eventsStats(t, e, id)
		if ev.Type != "stats" || ev.ID != id {
			t.Errorf("events --stats: type %q id %q, want stats %s", ev.Type, ev.ID, id)
		}
		if ev.Data.Pids.Current < 2 {
			t.Errorf("events --stats: pids.current %d, want >= 2 (sh and sleep)", ev.Data.Pids.Current)
		}
		if ev.Data.Memory.Usage.Usage == 0 {
			t.Errorf("events --stats: memory.usage.usage is 0")
		}
	})

	e.MustRun("kill", id) // SIGTERM by default; the trap exits
	e.WaitStatus(id, "stopped", 10*time.Second)
	WaitPidGone(t, pid, 5*time.Second)
	ExpectCounterStill(t, count, 300*time.Millisecond)

	r := e.MustFail("kill", id, "KILL")
	if !strings.Contains(r.Stderr, "container not running") {
		t.Errorf("kill of a stopped container: stderr should say %q\n%s", "container not running", r)
	}

	e.MustRun("delete", id)
	e.ExpectGone(id)
	e.ExpectNoState("after delete")
}

// statsEvent is the part of `events --stats` output the tests read.
type statsEvent struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data struct {
		Memory struct {
			Usage struct {
				Usage uint64 `json:"usage"`
				Limit uint64 `json:"limit"`
			} `json:"usage"`
		} `json:"memory"`
		Pids struct {
			Current uint64 `json:"current"`
		} `json:"pids"`
	} `json:"data"`
}

// eventsStats runs `events --stats id`, which must print one JSON object and exit.
func eventsStats(t *testing.T, e *Env, id string) statsEvent {
	t.Helper()
	r := e.RunT(15*time.Second, "events", "--stats", id)
	if r.Code != 0 {
		t.Fatalf("events --stats should print the stats once and exit:\n%s", r)
	}
	dec := json.NewDecoder(strings.NewReader(r.Stdout))
	var ev statsEvent
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("events --stats: no JSON object: %v\n%s", err, r)
	}
	if dec.More() {
		t.Errorf("events --stats printed more than one object:\n%s", r)
	}
	return ev
}

func containsField(text, field string) bool {
	for _, l := range strings.Split(text, "\n") {
		if slices.Contains(strings.Fields(l), field) {
			return true
		}
	}
	return false
}
