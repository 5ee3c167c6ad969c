package migrate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// pipeShareDir holds the locks and the saved value that let concurrent mycr
// processes share a raised fs.pipe-max-size: without them one migration's undo
// put the sysctl back under another one still dumping, whose CRIU then failed
// with "splice: Bad file descriptor".
const pipeShareDir = "/run/mycr-pipe-max-size"

// pipeShare raises a sysctl for as long as any holder needs it. Every holder
// keeps a shared flock on dir/users; the last one out (it gets the exclusive
// lock) writes back the value saved in dir/orig before the first raise. All
// changes happen under the exclusive flock dir/change. A holder killed with -9
// loses its lock with its process; the saved value stays for the last one.
type pipeShare struct {
	sysctl, dir string
}

func (p pipeShare) raise(want int) (undo func(), note string, err error) {
	undo = func() {}
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return undo, "", err
	}
	change, err := lockFile(filepath.Join(p.dir, "change"), unix.LOCK_EX)
	if err != nil {
		return undo, "", err
	}
	defer change.Close()
	cur, err := readIntFile(p.sysctl)
	if err != nil {
		return undo, "", err
	}
	orig := filepath.Join(p.dir, "orig")
	if _, err := readIntFile(orig); err != nil && cur >= want {
		return undo, "", nil // big enough, and not by another holder's raise
	}
	users, err := lockFile(filepath.Join(p.dir, "users"), unix.LOCK_SH)
	if err != nil {
		return undo, "", err
	}
	if cur < want {
		if _, err := readIntFile(orig); errors.Is(err, os.ErrNotExist) {
			if err := writeIntFile(orig, cur); err != nil {
				users.Close()
				return undo, "", err
			}
		}
		if err := writeIntFile(p.sysctl, want); err != nil {
			users.Close()
			return undo, "", fmt.Errorf("raise fs.pipe-max-size to %d for CRIU's lazy page server: %w", want, err)
		}
		note = fmt.Sprintf("raised fs.pipe-max-size from %d to %d for CRIU's lazy page server (no CAP_SYS_RESOURCE here); it is put back afterwards", cur, want)
	}
	var once sync.Once
	return func() { once.Do(func() { p.release(users, want) }) }, note, nil
}

// release drops this holder's share; the last holder puts the saved value
// back, unless someone else changed the sysctl meanwhile.
func (p pipeShare) release(users *os.File, want int) {
	change, err := lockFile(filepath.Join(p.dir, "change"), unix.LOCK_EX)
	if err != nil {
		users.Close()
		return
	}
	defer change.Close()
	users.Close()
	last, err := lockFile(filepath.Join(p.dir, "users"), unix.LOCK_EX|unix.LOCK_NB)
	if err != nil {
		return // another migration still holds it
	}
	defer last.Close()
	orig := filepath.Join(p.dir, "orig")
	if old, err := readIntFile(orig); err == nil {
		if cur, err := readIntFile(p.sysctl); err == nil && cur == want {
			_ = writeIntFile(p.sysctl, old)
		}
		os.Remove(orig)
	}
}

func lockFile(path string, how int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func readIntFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func writeIntFile(path string, n int) error {
	return os.WriteFile(path, []byte(strconv.Itoa(n)+"\n"), 0o644)
}
