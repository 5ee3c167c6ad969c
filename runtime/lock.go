package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Lock serialises mutating commands on one container across mycr processes: libcontainer
// only locks within a process, and a checkpoint racing a pause or delete corrupts state.
type Lock struct {
	f    *os.File
	root *Root
	id   string
}

// lockWait is how long a command waits for another one on the same container.
var lockWait = 10 * time.Second

// ErrBusy says another mycr command holds the container.
var ErrBusy = errors.New("container is busy")

// Lock takes the container's lock for op (named in the error if it waits in vain,
// with the holder found in /proc/locks, see holderOf).
func (r *Root) Lock(id, op string) (*Lock, error) {
	dir := filepath.Join(r.Dir, ".locks")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, id)
	deadline := time.Now().Add(lockWait)
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return nil, err
		}
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			if sameFile(f, path) {
				return &Lock{f: f, root: r, id: id}, nil
			}
			// The holder removed the file as we got it: lock the new one instead.
			f.Close()
			continue
		}
		var holder string
		if errors.Is(err, unix.EWOULDBLOCK) && time.Now().After(deadline) {
			holder = holderOf(f)
		}
		f.Close()
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return nil, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w: container %s: cannot %s it, another mycr command (%s) still holds it; retry later",
				ErrBusy, id, op, holder)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// holderOf names the process holding the flock on f, from /proc/locks, as
// "pid 123: mycr checkpoint c1". The lock file itself stays empty: writing the
// holder into it, and truncating it again on unlock, cost ext4 journal work
// (a truncate puts the inode on the orphan list) on every start and delete.
func holderOf(f *os.File) string {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return "unknown"
	}
	// Lines read "1: FLOCK  ADVISORY  WRITE 1234 fd:00:131090 0 EOF" (waiters: "1: -> FLOCK ...").
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	locks, _ := os.ReadFile("/proc/locks")
	for _, l := range strings.Split(string(locks), "\n") {
		fields := strings.Fields(l)
		if len(fields) < 6 || fields[1] != "FLOCK" || fields[5] != want {
			continue
		}
		pid := fields[4]
		cmdline, _ := os.ReadFile("/proc/" + pid + "/cmdline")
		args := strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))
		if len(args) > 200 {
			args = args[:200] + "..."
		}
		if args == "" {
			return "pid " + pid
		}
		return "pid " + pid + ": " + args
	}
	return "unknown"
}

// sameFile tells whether the locked f is still the file at path.
func sameFile(f *os.File, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// Unlock releases the lock. A lock of a container that does not exist (a typo, a
// failed create or restore, a delete) is removed, so no file outlives its container.
func (l *Lock) Unlock() {
	if l == nil || l.f == nil {
		return
	}
	if !l.root.Exists(l.id) {
		_ = os.Remove(l.f.Name())
	}
	_ = l.f.Close()
	l.f = nil
}
