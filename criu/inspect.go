package criu

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/checkpoint-restore/go-criu/v7/crit"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/mnt"
)

// InspectOpts choose what Inspect reads from an image directory.
type InspectOpts struct {
	PS, Files, Sockets, Mounts, Mem, Env bool
}

// Inspection is what a checkpoint holds, decoded with go-criu's crit.
type Inspection struct {
	Dir       string         `json:"dir"`
	Meta      *Meta          `json:"meta,omitempty"`
	Processes []Process      `json:"processes,omitempty"`
	Files     []*crit.Fd     `json:"files,omitempty"`
	Sockets   []*crit.Sk     `json:"sockets,omitempty"`
	Mounts    []Mount        `json:"mounts,omitempty"`
	Ns        []Namespaces   `json:"namespaces,omitempty"`
	Memory    []*crit.MemMap `json:"memory,omitempty"`
}

// Process is one task of the dumped tree.
type Process struct {
	PID     uint32   `json:"pid"`
	PPID    uint32   `json:"ppid"`
	Comm    string   `json:"comm"`
	Cmdline string   `json:"cmdline,omitempty"`
	Env     []string `json:"env,omitempty"`
}

// Mount is one mount of the dumped mount namespaces.
type Mount struct {
	Mountpoint string `json:"mountpoint"`
	Source     string `json:"source,omitempty"`
	Root       string `json:"root"`
	External   bool   `json:"external,omitempty"`
}

// Inspect decodes an image directory. A corrupt or truncated image gives an
// error naming the directory, never a panic.
func Inspect(dir string, o InspectOpts) (in *Inspection, err error) {
	if _, err := os.Stat(filepath.Join(dir, "inventory.img")); err != nil {
		return nil, fmt.Errorf("%s holds no CRIU checkpoint (inventory.img missing)", dir)
	}
	defer func() {
		if r := recover(); r != nil {
			in, err = nil, fmt.Errorf("images in %s are corrupt: %v", dir, r)
		}
	}()
	in = &Inspection{Dir: dir}
	if m, err := ReadMeta(dir); err == nil {
		in.Meta = m
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	c := crit.New(nil, nil, dir, false, true)
	fail := func(what string, err error) error {
		return fmt.Errorf("images in %s: cannot read %s: %w", dir, what, err)
	}
	if o.PS || o.Env {
		tree, err := c.ExplorePs()
		if err != nil {
			return nil, fail("the process tree", err)
		}
		in.Processes = processes(dir, tree, 0, o.Env)
		if in.Ns, err = namespaces(dir, in.Processes); err != nil {
			return nil, fail("namespaces", err)
		}
	}
	if o.Files {
		if in.Files, err = c.ExploreFds(); err != nil {
			return nil, fail("open files", err)
		}
	}
	if o.Sockets {
		if in.Sockets, err = c.ExploreSk(); err != nil {
			return nil, fail("sockets", err)
		}
	}
	if o.Mem {
		if in.Memory, err = c.ExploreMems(); err != nil {
			return nil, fail("memory mappings", err)
		}
	}
	if o.Mounts {
		if in.Mounts, err = mounts(dir); err != nil {
			return nil, fail("mounts", err)
		}
	}
	return in, nil
}

// processes flattens the tree, reading each task's cmdline (and env) from its memory.
func processes(dir string, t *crit.PsTree, ppid uint32, env bool) []Process {
	p := Process{PID: t.PID, PPID: ppid, Comm: t.Comm}
	if mr, err := memoryReader(dir, t.PID); err == nil {
		if args, err := mr.GetPsArgs(); err == nil {
			p.Cmdline = strings.TrimSpace(strings.ReplaceAll(args.String(), "\x00", " "))
		}
		if env {
			if vars, err := mr.GetPsEnvVars(); err == nil {
				p.Env = strings.FieldsFunc(vars.String(), func(r rune) bool { return r == 0 })
			}
		}
	}
	out := []Process{p}
	for _, child := range t.Children {
		out = append(out, processes(dir, child, t.PID, env)...)
	}
	return out
}

func mounts(dir string) ([]Mount, error) {
	files, _ := filepath.Glob(filepath.Join(dir, "mountpoints-*.img"))
	var out []Mount
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		img, err := crit.New(f, nil, "", false, true).Decode(&mnt.MntEntry{})
		f.Close()
		if err != nil {
			return nil, err
		}
		for _, e := range img.Entries {
			m, ok := e.Message.(*mnt.MntEntry)
			if !ok {
				continue
			}
			out = append(out, Mount{Mountpoint: m.GetMountpoint(), Source: m.GetSource(), Root: m.GetRoot(), External: m.GetExtKey() != ""})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Mountpoint < out[j].Mountpoint })
	return out, nil
}

// MemoryMatch is one hit of Search.
type MemoryMatch struct {
	PID     uint32 `json:"pid"`
	Comm    string `json:"comm"`
	Address string `json:"address"`
	Context string `json:"context"`
}

// Search finds pattern (a plain string) in the dumped memory of every task.
func Search(dir, pattern string, context int) ([]MemoryMatch, error) {
	in, err := Inspect(dir, InspectOpts{PS: true})
	if err != nil {
		return nil, err
	}
	var out []MemoryMatch
	for _, p := range in.Processes {
		mr, err := memoryReader(dir, p.PID)
		if err != nil {
			return nil, fmt.Errorf("memory of pid %d: %w", p.PID, err)
		}
		hits, err := mr.SearchPattern(pattern, true, context, 0)
		if err != nil {
			return nil, fmt.Errorf("search memory of pid %d: %w", p.PID, err)
		}
		for _, h := range hits {
			out = append(out, MemoryMatch{PID: p.PID, Comm: p.Comm, Address: fmt.Sprintf("0x%x", h.Vaddr), Context: printable(h.Match)})
		}
	}
	return out, nil
}

func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 32 || r > 126 {
			return '.'
		}
		return r
	}, s)
}
