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
//
// A container that exists is locked by a flock on its state directory: no file to
// create (a new inode is 0.6-0.9 ms of ext4 journal work on every start). A command
// on an ID without a state directory (restore, migration target, a typo) locks
// .locks/<id> instead, creating it before the state directory exists, and so does a
// restore that replaces a created container (LockCreating); so a command that finds
// the directory also locks that file when there is one, and waits for a restore
// still filling the directory in.
type Lock struct {
	held []*os.File // in locking order
	file string     // .locks/<id> if held: removed on unlock once the container is gone
	root *Root
	id   string
}

// lockWait is how long a command waits for another one on the same container.
var lockWait = 10 * time.Second

// ErrBusy says another mycr command holds the container.
var ErrBusy = errors.New("container is busy")

// Lock takes the container's lock for op (named in the error if it waits in vain,
// with the holder found in /proc/locks, see holderOf).
func (r *Root) Lock(id, op string) (*Lock, error) { return r.lock(id, op, false) }

// LockCreating is Lock for a command that (re)creates the container's state
// directory, as a restore replacing a created container does: it also holds the
// lock file, which every other command takes once it exists, so a command that
// finds the new directory waits.
func (r *Root) LockCreating(id, op string) (*Lock, error) { return r.lock(id, op, true) }

func (r *Root) lock(id, op string, creating bool) (*Lock, error) {
	deadline := time.Now().Add(lockWait)
	l := &Lock{root: r, id: id}
	// Always the directory first, then the file: one order, no deadlock.
	dir, err := lockAt(r.StateDir(id), os.O_RDONLY|unix.O_DIRECTORY, deadline, id, op)
	if err != nil {
		return nil, err
	}
	flags := os.O_RDWR
	if dir != nil {
		l.held = append(l.held, dir)
	}
	if dir == nil || creating {
		if err := os.MkdirAll(filepath.Join(r.Dir, ".locks"), 0o700); err != nil {
			l.Unlock()
			return nil, err
		}
		flags |= os.O_CREATE
	}
	path := filepath.Join(r.Dir, ".locks", id)
	f, err := lockAt(path, flags, deadline, id, op)
	if err != nil {
		l.Unlock()
		return nil, err
	}
	if f != nil {
		l.held = append(l.held, f)
		l.file = path
	}
	return l, nil
}

// lockAt opens path with flags and flocks it, waiting until deadline. It returns
// nil, nil if path does not exist (and flags do not create it).
func lockAt(path string, flags int, deadline time.Time, id, op string) (*os.File, error) {
	for {
		f, err := os.OpenFile(path, flags|unix.O_CLOEXEC, 0o600)
		if errors.Is(err, os.ErrNotExist) && flags&os.O_CREATE == 0 {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			if sameFile(f, path) {
				return f, nil
			}
			// The holder removed it (a delete, an unlock) as we got it: look again.
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

// Unlock releases the lock. A lock file of a container that does not exist (a typo,
// a failed restore, a delete) is removed, so no file outlives its container.
func (l *Lock) Unlock() {
	if l == nil || l.held == nil {
		return
	}
	if l.file != "" && !l.root.Exists(l.id) {
		_ = os.Remove(l.file) // while still holding it: a waiter then sees it gone (sameFile)
	}
	for i := len(l.held) - 1; i >= 0; i-- {
		_ = l.held[i].Close()
	}
	l.held = nil
}
