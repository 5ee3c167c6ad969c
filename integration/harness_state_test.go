package integration

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// State is the OCI state `mycr state` prints.
type State struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Annotations map[string]string `json:"annotations"`
}

// State runs `mycr state id`; ok is false when it failed or printed no state.
func (e *Env) State(id string) (State, Result, bool) {
	e.t.Helper()
	r := e.Run("state", id)
	var s State
	if r.Code != 0 {
		return s, r, false
	}
	if err := json.Unmarshal([]byte(r.Stdout), &s); err != nil {
		e.t.Fatalf("state %s printed no JSON state: %v\n%s", id, err, r)
	}
	if s.Pid > 0 {
		e.remember(id, s.Pid)
	}
	return s, r, true
}

// MustState is State that fails the test when there is no state.
func (e *Env) MustState(id string) State {
	e.t.Helper()
	s, r, ok := e.State(id)
	if !ok {
		e.t.Fatalf("state of %s:\n%s", id, r)
	}
	return s
}

// ExpectStatus fails the test unless `state id` reports the given status.
func (e *Env) ExpectStatus(id, status string) State {
	e.t.Helper()
	s := e.MustState(id)
	if s.Status != status {
		e.t.Fatalf("container %s: status %q, expected %q (state: %+v)", id, s.Status, status, s)
	}
	return s
}

// WaitStatus waits until `state id` reports status.
func (e *Env) WaitStatus(id, status string, timeout time.Duration) State {
	e.t.Helper()
	var s State
	waitFor(e.t, timeout, fmt.Sprintf("container %s to be %s", id, status), func() (bool, string) {
		var r Result
		var ok bool
		s, r, ok = e.State(id)
		if !ok {
			return false, r.String()
		}
		return s.Status == status, fmt.Sprintf("status %q", s.Status)
	})
	return s
}

// ExpectGone fails the test unless `state id` fails saying the container does not exist.
func (e *Env) ExpectGone(id string) {
	e.t.Helper()
	_, r, ok := e.State(id)
	if ok {
		e.t.Fatalf("container %s still exists:\n%s", id, r)
	}
	want := fmt.Sprintf("container %s does not exist", id)
	if !strings.Contains(r.Stderr, want) {
		e.t.Errorf("state of a missing container: stderr should say %q:\n%s", want, r)
	}
}

// ListEntry is one element of `mycr list --format json`.
type ListEntry struct {
	ID     string `json:"id"`
	Pid    int    `json:"pid"`
	Status string `json:"status"`
	Bundle string `json:"bundle"`
}

// List runs `mycr list --format json`.
func (e *Env) List() ([]ListEntry, Result) {
	e.t.Helper()
	r := e.Run("list", "--format", "json")
	var l []ListEntry
	if r.Code == 0 && strings.TrimSpace(r.Stdout) != "" {
		if err := json.Unmarshal([]byte(r.Stdout), &l); err != nil {
			e.t.Errorf("list --format json printed no JSON list: %v\n%s", err, r)
		}
	}
	return l, r
}

// ExpectNoState fails the test unless `list` is empty and --root holds no directory.
func (e *Env) ExpectNoState(context string) {
	e.t.Helper()
	l, r := e.List()
	if r.Code != 0 {
		e.t.Errorf("%s: list failed:\n%s", context, r)
	}
	if len(l) != 0 {
		e.t.Errorf("%s: list shows containers: %+v", context, l)
	}
	ents, err := os.ReadDir(e.Root)
	if err != nil {
		e.t.Errorf("%s: reading --root: %v", context, err)
	}
	for _, d := range ents {
		if !d.IsDir() {
			continue // e.g. a cache file of the runtime's own
		}
		if !strings.HasPrefix(d.Name(), ".") {
			e.t.Errorf("%s: --root %s holds a directory %q", context, e.Root, d.Name())
			continue
		}
		// A hidden dir (runtime bookkeeping such as locks) may stay, but nothing
		// per container may be left in it once no container exists.
		filepath.WalkDir(filepath.Join(e.Root, d.Name()), func(p string, f fs.DirEntry, err error) error {
			if err == nil && !f.IsDir() {
				e.t.Errorf("%s: --root still holds %s", context, p)
			}
			return nil
		})
	}
}
