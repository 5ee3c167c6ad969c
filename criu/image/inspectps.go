package image

import (
	"bytes"
	"fmt"
	"strings"

	criucore "github.com/checkpoint-restore/go-criu/v7/crit/images/criu-core"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/mm"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/pstree"
)

// Process is one task of the dumped tree (pids as seen in the container).
type Process struct {
	PID     uint32      `json:"pid"`
	PPID    uint32      `json:"ppid"`
	PGID    uint32      `json:"pgid"`
	SID     uint32      `json:"sid"`
	Threads int         `json:"threads"`
	Comm    string      `json:"comm"`
	State   string      `json:"state"` // alive, stopped, zombie, dead
	UID     uint32      `json:"uid"`
	GID     uint32      `json:"gid"`
	Exe     string      `json:"exe,omitempty"`
	Args    []string    `json:"args,omitempty"`
	Cmdline string      `json:"cmdline,omitempty"` // Args joined by spaces
	Env     []string    `json:"env,omitempty"`
	Ns      *Namespaces `json:"namespaces,omitempty"`
	Depth   int         `json:"-"` // in the tree, for display
}

// Task states CRIU records (compel's task-state.h).
var taskStates = map[uint32]string{1: "alive", 2: "dead", 3: "stopped", 6: "zombie"}

// hasMemory tells whether CRIU dumped the task's memory (not for zombies).
func (p *Process) hasMemory() bool { return p.State == "alive" || p.State == "stopped" }

// processes lists the dumped tasks in tree order (parents before children);
// args reads each command line from the dumped memory, env the environment.
func processes(im *images, args, env bool) ([]Process, error) {
	entries, err := decodeAll(im, "pstree.img", &pstree.PstreeEntry{})
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("pstree.img lists no process")
	}
	var out []Process
	for _, e := range treeOrder(entries) {
		p := Process{PID: e.entry.GetPid(), PPID: e.entry.GetPpid(), PGID: e.entry.GetPgid(), SID: e.entry.GetSid(),
			Threads: len(e.entry.GetThreads()), Depth: e.depth}
		core, err := decodeOne(im, fmt.Sprintf("core-%d.img", p.PID), &criucore.CoreEntry{})
		if err != nil {
			return nil, err
		}
		p.Comm = core.GetTc().GetComm()
		p.State = taskStates[core.GetTc().GetTaskState()]
		if p.State == "" {
			p.State = fmt.Sprintf("state %d", core.GetTc().GetTaskState())
		}
		creds := core.GetThreadCore().GetCreds()
		p.UID, p.GID = creds.GetUid(), creds.GetGid()
		if !p.hasMemory() { // a zombie is only its core image
			out = append(out, p)
			continue
		}
		if p.Ns, err = namespaces(im, p.PID); err != nil {
			return nil, err
		}
		if args || env {
			if err := readCmdline(im, &p, env); err != nil {
				return nil, err
			}
		}
		out = append(out, p)
	}
	return out, nil
}

type treeEntry struct {
	entry *pstree.PstreeEntry
	depth int
}

// treeOrder sorts pstree entries depth first from the root(s); entries a
// corrupt tree leaves unreachable (a parent cycle) come last, each once.
func treeOrder(entries []*pstree.PstreeEntry) []treeEntry {
	known := map[uint32]bool{}
	children := map[uint32][]*pstree.PstreeEntry{}
	for _, e := range entries {
		known[e.GetPid()] = true
		children[e.GetPpid()] = append(children[e.GetPpid()], e)
	}
	seen := map[*pstree.PstreeEntry]bool{}
	var out []treeEntry
	var walk func(e *pstree.PstreeEntry, depth int)
	walk = func(e *pstree.PstreeEntry, depth int) {
		if seen[e] {
			return
		}
		seen[e] = true
		out = append(out, treeEntry{e, depth})
		if e.GetPid() == e.GetPpid() {
			return
		}
		for _, c := range children[e.GetPid()] {
			walk(c, depth+1)
		}
	}
	for _, e := range entries {
		if e.GetPpid() == 0 || !known[e.GetPpid()] {
			walk(e, 0)
		}
	}
	for _, e := range entries {
		walk(e, 0)
	}
	return out
}

// readCmdline fills in the task's executable, arguments and (with env) its
// environment, read from its dumped memory as ps reads /proc/<pid>/cmdline.
func readCmdline(im *images, p *Process, env bool) error {
	m, err := decodeOne(im, fmt.Sprintf("mm-%d.img", p.PID), &mm.MmEntry{})
	if err != nil {
		return err
	}
	if files, err := fileTable(im); err == nil {
		p.Exe = files.name(m.GetExeFileId())
	}
	mem, err := openTaskMemory(im, p.PID)
	if err != nil {
		return err
	}
	defer mem.close()
	raw, err := mem.readRange(m.GetMmArgStart(), m.GetMmArgEnd())
	if err != nil {
		return err
	}
	p.Args = nulStrings(raw)
	p.Cmdline = strings.Join(p.Args, " ")
	if env {
		raw, err := mem.readRange(m.GetMmEnvStart(), m.GetMmEnvEnd())
		if err != nil {
			return err
		}
		p.Env = nulStrings(raw)
	}
	return nil
}

// nulStrings splits NUL-terminated strings (an empty argument stays one).
func nulStrings(b []byte) []string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil
	}
	var out []string
	for _, s := range bytes.Split(b, []byte{0}) {
		out = append(out, string(s))
	}
	return out
}
