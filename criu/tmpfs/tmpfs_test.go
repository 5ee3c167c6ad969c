package tmpfs

import (
	"archive/tar"
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// newTmpfs mounts a fresh tmpfs for the test, as the mounts Capture reads and
// Extract fills are.
func newTmpfs(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: mounts, device nodes, owners")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=256m,mode=755"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A /dev-like and /dev/shm-like tree goes through Capture and Extract as it was.
func TestRoundTripKeepsWhatTarKeeps(t *testing.T) {
	src := newTmpfs(t)
	at := func(p string) string { return filepath.Join(src, p) }
	must(t, os.Mkdir(at("shm"), 0o755))
	must(t, unix.Chmod(at("shm"), 0o1777))
	must(t, os.WriteFile(at("shm/counter"), []byte("42\n"), 0o640))
	must(t, os.Chown(at("shm/counter"), 1234, 5678))
	must(t, os.WriteFile(at("suid"), []byte("x"), 0o755))
	must(t, unix.Chmod(at("suid"), 0o4755))
	// A segment made with ftruncate: 64 MiB long, 4 KiB of it written.
	f, err := os.Create(at("shm/segment"))
	must(t, err)
	must(t, f.Truncate(64<<20))
	_, err = f.WriteAt(bytes.Repeat([]byte{0xab}, 4096), 8<<20)
	must(t, err)
	must(t, f.Close())
	must(t, os.Link(at("shm/counter"), at("hardlink")))
	must(t, os.Symlink("/proc/self/fd", at("fd")))
	must(t, unix.Mkfifo(at("fifo"), 0))
	must(t, unix.Chmod(at("fifo"), 0o620))
	must(t, unix.Mknod(at("null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	must(t, unix.Chmod(at("null"), 0o666))
	l, err := net.Listen("unix", at("sock"))
	must(t, err)
	defer l.Close()
	// Another mount below: kept as an empty mount point, not entered.
	must(t, os.Mkdir(at("pts"), 0o700))
	must(t, unix.Mount("tmpfs", at("pts"), "tmpfs", 0, "size=1m"))
	defer unix.Unmount(at("pts"), unix.MNT_DETACH)
	must(t, os.WriteFile(at("pts/inside"), []byte("no"), 0o600))
	must(t, os.WriteFile(at("console"), nil, 0o600)) // a terminal bound there
	must(t, unix.Mount(at("pts/inside"), at("console"), "", unix.MS_BIND, ""))
	defer unix.Unmount(at("console"), unix.MNT_DETACH)
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	must(t, os.Chtimes(at("shm"), old, old))

	var buf bytes.Buffer
	must(t, Capture(src, &buf))
	if buf.Len() > 1<<20 {
		t.Errorf("the tar is %d bytes: the 64 MiB segment's hole went in", buf.Len())
	}
	dst := newTmpfs(t)
	must(t, Extract(&buf, dst))

	got := func(p string) *syscall.Stat_t {
		t.Helper()
		var st syscall.Stat_t
		must(t, syscall.Lstat(filepath.Join(dst, p), &st))
		return &st
	}
	checkMode := func(p string, want uint32) {
		t.Helper()
		if m := got(p).Mode; m != want {
			t.Errorf("%s: mode %o, want %o", p, m, want)
		}
	}
	checkMode("shm", syscall.S_IFDIR|0o1777)
	checkMode("suid", syscall.S_IFREG|0o4755)
	checkMode("shm/counter", syscall.S_IFREG|0o640)
	checkMode("fifo", syscall.S_IFIFO|0o620)
	checkMode("null", syscall.S_IFCHR|0o666)
	checkMode("pts", syscall.S_IFDIR|0o755)
	checkMode("console", syscall.S_IFREG|0o644)
	if st := got("shm/counter"); st.Uid != 1234 || st.Gid != 5678 {
		t.Errorf("owner %d:%d, want 1234:5678", st.Uid, st.Gid)
	}
	if st := got("null"); st.Rdev != unix.Mkdev(1, 3) {
		t.Errorf("null: rdev %x", st.Rdev)
	}
	if got("hardlink").Ino != got("shm/counter").Ino {
		t.Error("the hard link became a copy")
	}
	if target, _ := os.Readlink(filepath.Join(dst, "fd")); target != "/proc/self/fd" {
		t.Errorf("symlink points at %q", target)
	}
	if mt := time.Unix(got("shm").Mtim.Unix()); !mt.Equal(old) {
		t.Errorf("shm mtime %v, want %v", mt, old)
	}
	for _, gone := range []string{"sock", "pts/inside"} {
		if _, err := os.Lstat(filepath.Join(dst, gone)); err == nil {
			t.Errorf("%s was carried", gone)
		}
	}
	seg := got("shm/segment")
	if seg.Size != 64<<20 || seg.Blocks*512 > 1<<20 {
		t.Errorf("segment: size %d, %d bytes allocated; want 64 MiB, sparse", seg.Size, seg.Blocks*512)
	}
	data, err := os.ReadFile(filepath.Join(dst, "shm/segment"))
	must(t, err)
	if !bytes.Equal(data[8<<20:8<<20+4096], bytes.Repeat([]byte{0xab}, 4096)) || data[0] != 0 || data[len(data)-1] != 0 {
		t.Error("segment's data moved")
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "shm/counter")); string(b) != "42\n" {
		t.Errorf("counter holds %q", b)
	}
}

// A tar that names something outside the mount, or a broken sparse map, is refused.
func TestExtractRefusesWhatCaptureNeverWrites(t *testing.T) {
	for name, hdr := range map[string]*tar.Header{
		"outside":    {Name: "../escape", Typeflag: tar.TypeReg, Mode: 0o600},
		"absolute":   {Name: "/etc/escape", Typeflag: tar.TypeReg, Mode: 0o600},
		"sparse map": {Name: "f", Typeflag: tar.TypeReg, Size: 1, PAXRecords: map[string]string{paxSparseMap: "5,1,0,1", paxSparseSize: "10"}},
		"type":       {Name: "f", Typeflag: tar.TypeCont},
	} {
		t.Run(name, func(t *testing.T) {
			dst := t.TempDir()
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			must(t, tw.WriteHeader(hdr))
			_, _ = tw.Write(make([]byte, hdr.Size))
			_ = tw.Close()
			err := Extract(&buf, dst)
			if err == nil {
				t.Fatal("extracted")
			}
			if entries, _ := os.ReadDir(dst); len(entries) > 0 {
				t.Errorf("left %v behind", entries)
			}
		})
	}
}

// A tar cut short (a partial copy of the images) is named as truncated.
func TestExtractNamesTruncatedTar(t *testing.T) {
	src := t.TempDir()
	must(t, os.WriteFile(filepath.Join(src, "f"), bytes.Repeat([]byte("x"), 10000), 0o600))
	var buf bytes.Buffer
	must(t, Capture(src, &buf))
	err := Extract(bytes.NewReader(buf.Bytes()[:buf.Len()/2]), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("half a tar: %v", err)
	}
}
