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

// Lock takes the container's lock, recording op so a waiting command can say who holds it.
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
				_ = f.Truncate(0)
				_, _ = f.WriteAt([]byte(fmt.Sprintf("%s (pid %d)\n", op, os.Getpid())), 0)
				return &Lock{f: f, root: r, id: id}, nil
			}
			// The holder removed the file as we got it: lock the new one instead.
			f.Close()
			continue
		}
		holder, _ := os.ReadFile(path)
		f.Close()
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return nil, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w: container %s: another mycr command (%s) still holds it; retry later",
				ErrBusy, id, strings.TrimSpace(string(holder)))
		}
		time.Sleep(20 * time.Millisecond)
	}
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
	} else {
		_ = l.f.Truncate(0)
	}
	_ = l.f.Close()
	l.f = nil
}
