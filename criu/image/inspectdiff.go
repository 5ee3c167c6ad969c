package image

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/docker/go-units"
)

// Change is one difference between two checkpoints of a container.
type Change struct {
	Op   string `json:"op"`   // "+" new in the second, "-" gone from it, "~" changed
	Kind string `json:"kind"` // container, process, file, socket, memory
	PID  uint32 `json:"pid,omitempty"`
	What string `json:"what"`
}

func (c Change) String() string {
	if c.PID == 0 {
		return fmt.Sprintf("%s %s %s", c.Op, c.Kind, c.What)
	}
	return fmt.Sprintf("%s %s pid %d: %s", c.Op, c.Kind, c.PID, c.What)
}

var kindOrder = map[string]int{"container": 0, "process": 1, "file": 2, "socket": 3, "memory": 4}

// Diff lists what changed from checkpoint a to checkpoint b of the same
// container: processes that came or went (or exec'd), files and sockets opened
// or closed, and each task's mapped and dumped memory.
func Diff(a, b *Inspection) []Change {
	var out []Change
	if a.Meta != nil && b.Meta != nil && a.Meta.ID != b.Meta.ID {
		out = append(out, Change{Op: "~", Kind: "container", What: fmt.Sprintf("id %s -> %s (not the same container?)", a.Meta.ID, b.Meta.ID)})
	}
	out = append(out, keyedDiff("process", procKeys(a), procKeys(b), nil)...)
	// The files and sockets of a task that came or went are that task's news.
	both := map[uint32]bool{}
	for _, p := range a.Processes {
		both[p.PID] = slices.ContainsFunc(b.Processes, func(q Process) bool { return q.PID == p.PID && q.Comm == p.Comm })
	}
	if len(a.Processes) == 0 || len(b.Processes) == 0 {
		both = nil
	}
	out = append(out, keyedDiff("file", fileKeys(a), fileKeys(b), both)...)
	out = append(out, keyedDiff("socket", socketKeys(a), socketKeys(b), both)...)
	out = append(out, memDiff(a, b)...)
	sort.SliceStable(out, func(i, j int) bool {
		x, y := out[i], out[j]
		if x.Kind != y.Kind {
			return kindOrder[x.Kind] < kindOrder[y.Kind]
		}
		if x.PID != y.PID {
			return x.PID < y.PID
		}
		return x.What < y.What
	})
	return out
}

type pidKey struct {
	pid  uint32
	what string
}

func procKeys(in *Inspection) map[pidKey]bool {
	m := map[pidKey]bool{}
	for _, p := range in.Processes {
		m[pidKey{p.PID, fmt.Sprintf("%s (%s)", p.Comm, p.Cmdline)}] = true
	}
	return m
}

func fileKeys(in *Inspection) map[pidKey]bool {
	m := map[pidKey]bool{}
	for _, f := range in.Files {
		if !strings.HasSuffix(f.Type, "sk") { // sockets are compared as sockets
			m[pidKey{f.PID, fmt.Sprintf("fd %s %s", f.Fd, f.Path)}] = true
		}
	}
	return m
}

func socketKeys(in *Inspection) map[pidKey]bool {
	m := map[pidKey]bool{}
	for _, s := range in.Sockets {
		s.Inode, s.Peer = 0, 0 // inodes change with every restore
		m[pidKey{s.PID, fmt.Sprintf("fd %d %s", s.Fd, strings.TrimSuffix(s.String(), " [0]"))}] = true
	}
	return m
}

// keyedDiff lists the keys only in a or only in b; with only, just those of
// the pids it holds true.
func keyedDiff(kind string, a, b map[pidKey]bool, only map[uint32]bool) []Change {
	var out []Change
	for k := range a {
		if !b[k] && (only == nil || only[k.pid]) {
			out = append(out, Change{Op: "-", Kind: kind, PID: k.pid, What: k.what})
		}
	}
	for k := range b {
		if !a[k] && (only == nil || only[k.pid]) {
			out = append(out, Change{Op: "+", Kind: kind, PID: k.pid, What: k.what})
		}
	}
	return out
}

// memDiff reports tasks of both checkpoints whose mapped or dumped size changed.
func memDiff(a, b *Inspection) []Change {
	before := map[uint32]TaskMemory{}
	for _, t := range a.Memory {
		before[t.PID] = t
	}
	var out []Change
	for _, t := range b.Memory {
		old, ok := before[t.PID]
		if !ok || (old.Mapped == t.Mapped && old.Dumped == t.Dumped) {
			continue
		}
		out = append(out, Change{Op: "~", Kind: "memory", PID: t.PID, What: fmt.Sprintf("mapped %s -> %s, dumped %s -> %s",
			units.BytesSize(float64(old.Mapped)), units.BytesSize(float64(t.Mapped)), units.BytesSize(float64(old.Dumped)), units.BytesSize(float64(t.Dumped)))})
	}
	return out
}
