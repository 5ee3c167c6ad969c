package criu

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// A lazily restored process has no copy of its userfaultfd: CRIU hands it to
// the lazy-pages daemon and closes it in the process. If the daemon dies, the
// last reference goes, the kernel unregisters the memory, and every page not
// yet copied reads as zeros: the process runs on with wrong memory and nobody
// notices. UffdHold keeps duplicates of the daemon's userfaultfds (taken with
// pidfd_getfd), so after such a death the faulting threads wait instead, until
// mycr has killed them. Closing the hold after the daemon finished well lets
// the kernel unregister the (by then complete) memory.

// uffdLink is how /proc shows a userfaultfd.
const uffdLink = "anon_inode:[userfaultfd]"

// UffdHold duplicates the userfaultfds of a lazy-pages daemon as they appear.
type UffdHold struct {
	pidfd int
	pid   int
	mu    sync.Mutex
	held  map[int]int // daemon's fd -> our duplicate
	err   error       // the first failure to duplicate one
	stop  chan struct{}
	done  chan struct{}
}

// HoldUffds starts holding the userfaultfds of the daemon pid, scanning its
// descriptors every interval until Close.
func HoldUffds(pid int, interval time.Duration) (*UffdHold, error) {
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, os.NewSyscallError("pidfd_open", err)
	}
	h := &UffdHold{pidfd: pidfd, pid: pid, held: map[int]int{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			h.Scan()
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h, nil
}

// Scan duplicates the daemon's userfaultfds not held yet.
func (h *UffdHold) Scan() {
	dir := "/proc/" + strconv.Itoa(h.pid) + "/fd"
	f, err := os.Open(dir)
	if err != nil {
		return // the daemon is gone
	}
	names, _ := f.Readdirnames(-1)
	f.Close()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pidfd < 0 {
		return
	}
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		if _, ok := h.held[fd]; ok {
			continue
		}
		if l, err := os.Readlink(dir + "/" + n); err != nil || !strings.HasPrefix(l, uffdLink) {
			continue
		}
		dup, err := unix.PidfdGetfd(h.pidfd, fd, 0)
		if err != nil {
			if h.err == nil {
				h.err = os.NewSyscallError("pidfd_getfd", err)
			}
			continue
		}
		unix.CloseOnExec(dup)
		h.held[fd] = dup
	}
}

// Count is how many userfaultfds are held, and the first error taking one.
func (h *UffdHold) Count() (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.held), h.err
}

// Close stops scanning and lets every held userfaultfd go.
func (h *UffdHold) Close() {
	select {
	case <-h.stop:
	default:
		close(h.stop)
	}
	<-h.done
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, fd := range h.held {
		unix.Close(fd)
	}
	h.held = map[int]int{}
	if h.pidfd >= 0 {
		unix.Close(h.pidfd)
		h.pidfd = -1
	}
}
