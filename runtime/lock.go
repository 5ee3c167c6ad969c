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
	f *os.File
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
	f, err := os.OpenFile(filepath.Join(dir, id), os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(lockWait)
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) || time.Now().After(deadline) {
			holder, _ := os.ReadFile(f.Name())
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, fmt.Errorf("%w: container %s: another mycr command (%s) still holds it; retry later",
					ErrBusy, id, strings.TrimSpace(string(holder)))
			}
			return nil, err
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(fmt.Sprintf("%s (pid %d)\n", op, os.Getpid())), 0)
	return &Lock{f: f}, nil
}

// Unlock releases the lock; the lock file stays so holders never race on its inode.
func (l *Lock) Unlock() {
	if l == nil || l.f == nil {
		return
	}
	_ = l.f.Truncate(0)
	_ = l.f.Close()
	l.f = nil
}

// RemoveLock deletes a deleted container's lock file (called while holding it).
func (r *Root) RemoveLock(id string) {
	_ = os.Remove(filepath.Join(r.Dir, ".locks", id))
}
