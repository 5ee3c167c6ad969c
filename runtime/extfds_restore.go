package runtime

import (
	"fmt"
	"os"
	"strings"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/mycr/mycr/criu"
)

// restoreExternalFds says which files CRIU gives the restored processes in
// place of the checkpoint's external files (extfds.go): for stdio, the
// restore's own stdio (CRIU runs with the stdio meant for the restored init
// as its fds 0-2), so output lands where the last restore was told; beyond
// stdio, the same file reopened. held must stay open until CRIU is done.
func restoreExternalFds(cp *Checkpoint, p *libcontainer.Process) (inherit []string, held []*os.File, err error) {
	m := cp.Meta
	if m == nil {
		return nil, nil, nil // not made by mycr: nothing recorded as external
	}
	used := map[int]bool{}
	for _, x := range m.ExternalFds {
		fd := x.Fd
		if x.Internal && (used[fd] || isDevNull([]any{p.Stdin, p.Stdout, p.Stderr}[fd])) {
			continue // stays the container's /dev/null
		}
		if fd > 2 || used[fd] { // CRIU takes each inherited fd once
			f, err := reopenExternal(x)
			if err != nil {
				closeFiles(held)
				return nil, nil, err
			}
			held = append(held, f)
			fd = int(f.Fd())
		}
		if strings.HasPrefix(x.Key, "tty[") && !isTerminal([]any{p.Stdin, p.Stdout, p.Stderr}[fd]) {
			closeFiles(held)
			return nil, nil, fmt.Errorf("the container's stdio was the terminal %s, outside the container, and CRIU can put such a terminal back only onto a terminal: "+
				"run the restore with its %s on a terminal (or under `script`); a container started with `terminal: true` in config.json has no such limit", x.Path, stdioName(fd))
		}
		used[fd] = true
		key := x.Key
		if strings.HasPrefix(key, "file[") {
			// CRIU first looks a regular file up by its path, which for an
			// external one is the key without its first letter: that hands
			// our file over as it is. The whole key would make CRIU reopen it
			// and refuse a file of another kind or size than the dumped one
			// ("has bad mode"), as a /dev/null replaced by a log is.
			key = key[1:]
		}
		inherit = append(inherit, fmt.Sprintf("fd[%d]:%s", fd, key))
	}
	return inherit, held, nil
}

// reopenExternal opens again a file the checkpoint held beyond stdio.
func reopenExternal(x criu.ExternalFd) (*os.File, error) {
	if strings.HasPrefix(x.Key, "tty[") {
		return nil, fmt.Errorf("process %d of the checkpoint had the terminal %s, which is outside the container, open on fd %d: "+
			"a restore can give a process a terminal only as its stdio (fds 0-2); run it with `terminal: true` or close that fd before checkpointing", x.Pid, x.Path, x.Fd)
	}
	fd, err := unix.Open(x.Path, x.Flags&^(unix.O_CREAT|unix.O_TRUNC|unix.O_EXCL|unix.O_CLOEXEC), 0)
	if err != nil {
		return nil, fmt.Errorf("process %d of the checkpoint had %s, which is outside the container, open on fd %d, and the restore cannot open it again: %w; "+
			"put the file back at that path", x.Pid, x.Path, x.Fd, err)
	}
	// libcontainer starts CRIU and passes it no file of ours; one left open
	// across exec, above the few fds libcontainer sets up, reaches it anyway.
	high, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD, 1000)
	unix.Close(fd)
	if err != nil {
		return nil, fmt.Errorf("hand %s to CRIU: %w", x.Path, err)
	}
	if x.Flags&unix.O_APPEND == 0 {
		_, _ = unix.Seek(high, x.Pos, 0)
	}
	return os.NewFile(uintptr(high), x.Path), nil
}

// isDevNull tells whether a stdio end handed to CRIU is /dev/null (nil: exec
// gives CRIU /dev/null).
func isDevNull(end any) bool {
	f, ok := end.(*os.File)
	if !ok {
		return end == nil
	}
	var st unix.Stat_t
	return unix.Fstat(int(f.Fd()), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == unix.Mkdev(1, 3)
}

// isTerminal tells whether a stdio end handed to CRIU is a terminal.
func isTerminal(end any) bool {
	f, ok := end.(*os.File)
	if !ok || f == nil {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func stdioName(fd int) string {
	return [...]string{"stdin", "stdout", "stderr"}[fd]
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}
