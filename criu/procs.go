package criu

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// proc is the part of /proc/<pid>/stat the watchdog needs.
type proc struct {
	pid, ppid int
	comm      string
	state     byte // R, S, D, T (stopped by a signal), t (ptrace stop), ...
}

func readProc(pid int) (proc, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	s := string(b)
	// comm may hold spaces and parentheses: it ends at the last ')'.
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if err != nil || open < 0 || end < open {
		return proc{}, fmt.Errorf("bad /proc/%d/stat: %v", pid, err)
	}
	var state byte
	var ppid int
	if _, err := fmt.Sscanf(s[end+1:], " %c %d", &state, &ppid); err != nil {
		return proc{}, err
	}
	return proc{pid, ppid, s[open+1 : end], state}, nil
}

// criuProcs lists the criu children of parent and, below them, descendants
// that are still criu (restore forks the tree before tasks become themselves).
// A process is criu if its comm is "criu" (libcontainer execs it by that
// name) or its exe is bin.
func criuProcs(parent int, bin string) []proc {
	kids := map[int][]proc{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			if p, err := readProc(pid); err == nil {
				kids[p.ppid] = append(kids[p.ppid], p)
			}
		}
	}
	var out []proc
	for queue := []int{parent}; len(queue) > 0; queue = queue[1:] {
		for _, p := range kids[queue[0]] {
			exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.pid))
			if p.comm == "criu" || (bin != "" && exe == bin) {
				out = append(out, p)
				queue = append(queue, p.pid)
			}
		}
	}
	return out
}

// kill SIGKILLs p through a pidfd, after checking that the pid still names
// the same process, so a recycled pid is never hit.
func (p proc) kill() error {
	fd, err := unix.PidfdOpen(p.pid, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	// Compare comm only: killing a parent first reparents its children (new ppid).
	if now, err := readProc(p.pid); err != nil || now.comm != p.comm {
		return fmt.Errorf("pid %d changed identity", p.pid)
	}
	return unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
}

// criuBinary is the real file exec("criu") runs, to match /proc/*/exe.
func criuBinary() string {
	p, err := exec.LookPath("criu")
	if err == nil {
		p, err = filepath.EvalSymlinks(p)
	}
	if err != nil {
		return ""
	}
	return p
}
