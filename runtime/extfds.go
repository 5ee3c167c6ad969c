package runtime

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/mycr/mycr/criu"
)

// externalFds lists the descriptors of the container's processes that point
// at files outside the container's mounts: stdio on a host file, the host's
// /dev/null or terminal (`run -d web1 </dev/null >out.log`). CRIU cannot dump
// those ("Can't lookup mount") unless told they are external.
func externalFds(c *libcontainer.Container, initPid int) ([]criu.ExternalFd, error) {
	pids, err := c.Processes()
	if err != nil || len(pids) == 0 {
		pids = []int{initPid}
	}
	sort.Ints(pids)
	byKey := map[string]int{}
	var out []criu.ExternalFd
	devNullBeyondStdio := false
	for _, pid := range pids {
		mounts, err := mountIDs(pid)
		if err != nil {
			logrus.Debugf("external fds of %d: %v", pid, err)
			continue
		}
		entries, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, e := range entries {
			fd, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			x, ok := externalFd(pid, fd, mounts)
			if !ok {
				continue
			}
			if x.Internal && fd > 2 {
				devNullBeyondStdio = true
				continue
			}
			if strings.HasPrefix(x.Key, "tty[") && hungUp(pid, fd) {
				return nil, fmt.Errorf("fd %d of process %d in the container is the terminal %s, which was closed (hung up): "+
					"CRIU cannot checkpoint a closed terminal outside the container; restart the container with its stdio on a file or pipe, or with `terminal: true`", fd, pid, x.Path)
			}
			if i, seen := byKey[x.Key]; seen {
				if fdRank(x.Fd) < fdRank(out[i].Fd) {
					out[i] = x
				}
				continue
			}
			byKey[x.Key] = len(out)
			out = append(out, x)
		}
	}
	if devNullBeyondStdio { // the program opened /dev/null itself: keep it all as is
		out = slices.DeleteFunc(out, func(x criu.ExternalFd) bool { return x.Internal })
	}
	return out, nil
}

// hungUp tells whether pid's fd is a terminal whose other side closed: CRIU
// dumps such a terminal without its settings and then cannot restore it.
func hungUp(pid, fd int) bool {
	f, err := os.OpenFile(fmt.Sprintf("/proc/%d/fd/%d", pid, fd), os.O_RDONLY|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		return true
	}
	defer f.Close()
	_, err = unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err != nil
}

// fdRank orders the descriptors a file may be found on: a restore hands one
// file per key, and the output (stdout, then stderr) is what a user watches.
func fdRank(fd int) int {
	switch fd {
	case 1, 2:
		return fd - 1
	case 0:
		return 2
	}
	return fd
}

func mountIDs(pid int) (map[int]bool, error) {
	mounts, err := processMounts(pid)
	if err != nil {
		return nil, err
	}
	ids := make(map[int]bool, len(mounts))
	for _, m := range mounts {
		ids[m.ID] = true
	}
	return ids, nil
}

// externalFd tells whether pid's fd is a file or terminal outside its mounts,
// and under which key CRIU knows it.
func externalFd(pid, fd int, mounts map[int]bool) (criu.ExternalFd, bool) {
	link := fmt.Sprintf("/proc/%d/fd/%d", pid, fd)
	target, err := os.Readlink(link)
	if err != nil || !strings.HasPrefix(target, "/") { // pipe:[..], socket:[..], anon_inode:..
		return criu.ExternalFd{}, false
	}
	// A memfd lives on the kernel's internal mount, in no mount table: CRIU
	// dumps and restores it with its contents, it is not a host file.
	if strings.HasPrefix(target, "/memfd:") {
		return criu.ExternalFd{}, false
	}
	mntID, flags, pos, err := fdInfo(pid, fd)
	if err != nil {
		return criu.ExternalFd{}, false
	}
	if mounts[mntID] {
		if target != os.DevNull {
			return criu.ExternalFd{}, false
		}
		// libcontainer reopens a /dev/null given as stdio inside the
		// container; a restore onto other stdio replaces it by its path.
		return criu.ExternalFd{Key: target[1:], Path: target, Pid: pid, Fd: fd, Flags: flags, Internal: true}, true
	}
	var st unix.Stat_t
	if err := unix.Stat(link, &st); err != nil {
		return criu.ExternalFd{}, false
	}
	x := criu.ExternalFd{Path: target, Pid: pid, Fd: fd, Flags: flags, Pos: pos}
	if isTTY(st) {
		x.Key = fmt.Sprintf("tty[%x:%x]", st.Rdev, st.Dev)
	} else {
		x.Key = fmt.Sprintf("file[%x:%x]", mntID, st.Ino)
	}
	return x, true
}

// isTTY is CRIU's is_tty: the terminal majors (tty, ttyaux, unix98 ptys).
func isTTY(st unix.Stat_t) bool {
	if st.Mode&unix.S_IFMT != unix.S_IFCHR {
		return false
	}
	major := unix.Major(st.Rdev)
	return major == 4 || major == 5 || (major >= 128 && major <= 143)
}

// fdInfo reads the mount, open flags and position of pid's fd.
func fdInfo(pid, fd int) (mntID, flags int, pos int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/fdinfo/%d", pid, fd))
	if err != nil {
		return 0, 0, 0, err
	}
	defer f.Close()
	mntID = -1
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, _ := strings.Cut(sc.Text(), ":")
		value = strings.TrimSpace(value)
		switch name {
		case "mnt_id":
			mntID, err = strconv.Atoi(value)
		case "flags":
			var fl int64
			fl, err = strconv.ParseInt(value, 8, 64)
			flags = int(fl)
		case "pos":
			pos, err = strconv.ParseInt(value, 10, 64)
		}
		if err != nil {
			return 0, 0, 0, fmt.Errorf("%s of fd %d: %w", name, fd, err)
		}
	}
	if mntID < 0 {
		return 0, 0, 0, fmt.Errorf("no mnt_id for fd %d of %d", fd, pid)
	}
	return mntID, flags, pos, sc.Err()
}

// dumpExternals are the CRIU --external values for fds. With the user's own
// CRIU config mycr cannot pass them, and says what the file must hold.
func dumpExternals(fds []criu.ExternalFd, userConfig bool) []string {
	ext := make([]string, 0, len(fds))
	for _, x := range fds {
		if x.Internal {
			continue
		}
		ext = append(ext, x.Key)
		if userConfig {
			logrus.Warnf("fd %d of process %d is %s, outside the container: with CRIU_CONFIG_FILE set, mycr cannot tell CRIU it is external; "+
				"add `external %s` to that file (and `inherit-fd fd[%d]:%s` for the restore) or unset CRIU_CONFIG_FILE", x.Fd, x.Pid, x.Path, x.Key, x.Fd, strings.TrimPrefix(x.Key, "f"))
		}
	}
	return ext
}
