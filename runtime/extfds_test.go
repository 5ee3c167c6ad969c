package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/mycr/mycr/criu"
)

// A host file outside the given mounts gets CRIU's file[mnt_id:inode] key (hex,
// as in /proc/PID/fdinfo), a file on one of them none.
func TestExternalFdKeys(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	mnt, _, _, err := fdInfo(os.Getpid(), fd)
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	x, ok := externalFd(os.Getpid(), fd, map[int]bool{})
	want := fmt.Sprintf("file[%x:%x]", mnt, st.Ino)
	if !ok || x.Key != want || x.Path != f.Name() || x.Fd != fd || x.Internal {
		t.Errorf("external host file: %+v %v, want key %s", x, ok, want)
	}
	if _, ok := externalFd(os.Getpid(), fd, map[int]bool{mnt: true}); ok {
		t.Errorf("a file on the container's own mount counted as external")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if _, ok := externalFd(os.Getpid(), int(w.Fd()), map[int]bool{}); ok {
		t.Errorf("a pipe counted as an external file (libcontainer hands pipes over)")
	}
}

// Stdout before stderr before stdin: one file per key goes back at restore.
func TestFdRank(t *testing.T) {
	for _, order := range [][2]int{{1, 2}, {2, 0}, {0, 3}, {3, 7}} {
		if fdRank(order[0]) >= fdRank(order[1]) {
			t.Errorf("fd %d should rank before fd %d", order[0], order[1])
		}
	}
}

// The restore's stdio stands in for stdio keys (regular files by the name CRIU
// looks them up by); a second key on a taken fd, and a file beyond stdio, are
// opened again; a terminal's key onto a non-terminal is refused in words.
func TestRestoreExternalFds(t *testing.T) {
	dir := t.TempDir()
	extra := filepath.Join(dir, "fd5.log")
	if err := os.WriteFile(extra, []byte("0123456789"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := criu.NewMeta("c", dir, 0)
	m.ExternalFds = []criu.ExternalFd{
		{Key: "file[1a:10]", Path: "/x/out.log", Fd: 1},
		{Key: "dev/null", Path: "/dev/null", Fd: 0, Internal: true},
		{Key: "file[1a:11]", Path: extra, Fd: 1, Flags: unix.O_WRONLY, Pos: 4},
		{Key: "file[1a:12]", Path: extra, Fd: 5, Flags: unix.O_WRONLY | unix.O_APPEND},
	}
	if err := criu.WriteMeta(dir, m); err != nil {
		t.Fatal(err)
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	file, err := os.Create(filepath.Join(dir, "restore.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	p := &libcontainer.Process{Stdin: null, Stdout: file, Stderr: file}
	inherit, held, err := restoreExternalFds(OpenCheckpoint(dir), p)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFiles(held)
	if len(held) != 2 || len(inherit) != 3 {
		t.Fatalf("inherit %v, %d files reopened; want 3 keys, 2 reopened", inherit, len(held))
	}
	if inherit[0] != "fd[1]:ile[1a:10]" {
		t.Errorf("stdout key: %s", inherit[0])
	}
	for i, f := range held {
		if want := fmt.Sprintf("fd[%d]:ile[1a:1%d]", f.Fd(), i+1); inherit[i+1] != want || f.Fd() < 1000 {
			t.Errorf("reopened file %d: %s, want %s on a high fd", i, inherit[i+1], want)
		}
	}
	if pos, _ := unix.Seek(int(held[0].Fd()), 0, 1); pos != 4 {
		t.Errorf("reopened file at %d, want the checkpoint's position 4", pos)
	}

	m.ExternalFds = []criu.ExternalFd{{Key: "tty[8800:19]", Path: "/dev/pts/0", Fd: 1}}
	if err := criu.WriteMeta(dir, m); err != nil {
		t.Fatal(err)
	}
	if _, _, err := restoreExternalFds(OpenCheckpoint(dir), p); err == nil || !strings.Contains(err.Error(), "only onto a terminal") {
		t.Errorf("a terminal's key onto a file: %v", err)
	}
}

// TestMemfdIsNotExternal: a memfd (the program's own, or one a killed CRIU
// left in it) is dumped by CRIU with its contents; listed as external, the
// restore would look for "/memfd:NAME (deleted)" on the host and refuse.
func TestMemfdIsNotExternal(t *testing.T) {
	fd, err := unix.MemfdCreate("CRIUMFD", 0)
	if err != nil {
		t.Skipf("memfd_create: %v", err)
	}
	defer unix.Close(fd)
	mounts, err := mountIDs(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if x, ok := externalFd(os.Getpid(), fd, mounts); ok {
		t.Errorf("memfd taken for an external file: %+v", x)
	}
}
