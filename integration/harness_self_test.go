package integration

// Checks of the harness itself, independent of mycr: a broken helper must not
// masquerade as a runtime bug.

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestHarnessRootfs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "rootfs")
	MakeRootfs(t, dir, map[string]string{netprogBin: "bin/netprog"})
	cmd := exec.Command("/bin/sh", "-c", "echo $((40+2)); grep ^root: /etc/passwd; ls /bin/netprog; sleep 0.01")
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: dir}
	cmd.Env = []string{"PATH=/bin"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("busybox shell in the rootfs: %v\n%s", err, out)
	}
	want := "42\nroot:x:0:0:root:/root:/bin/sh\n/bin/netprog\n"
	if string(out) != want {
		t.Fatalf("got %q, want %q", out, want)
	}
}

func TestHarnessConsoleSocket(t *testing.T) {
	cs := NewConsoleSocket(t)
	master, slave := openPty(t)

	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: cs.Path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := conn.WriteMsgUnix([]byte("/dev/pts/x"), unix.UnixRights(int(master.Fd())), nil); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	master.Close()

	got := cs.Master(t, 5*time.Second)
	if got.Name() != "/dev/pts/x" {
		t.Errorf("name %q", got.Name())
	}
	// What the "container" writes to the slave arrives on the received master...
	if _, err := slave.Write([]byte("from-slave\n")); err != nil {
		t.Fatal(err)
	}
	ReadUntil(t, got, "from-slave", 5*time.Second)
	// ...and a read that finds nothing times out instead of hanging.
	if _, err := readUntil(got, "never", 200*time.Millisecond); err == nil {
		t.Fatal("readUntil found text that was never written")
	}
	// Typed input reaches the slave.
	WriteAll(t, got, "typed\n")
	b := make([]byte, 64)
	n, err := slave.Read(b)
	if err != nil || !strings.Contains(string(b[:n]), "typed") {
		t.Fatalf("slave read %q, %v", b[:n], err)
	}
}

// openPty opens a pty pair on the host's /dev/ptmx.
func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no /dev/ptmx: %v", err)
	}
	var unlock int32
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, m.Fd(), unix.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatal(e)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// TestHarnessNetprog runs the test program on the host's loopback (port chosen by
// the kernel) and checks its counting and probe mode.
func TestHarnessNetprog(t *testing.T) {
	out := filepath.Join(t.TempDir(), "replies")
	cmd := exec.Command(netprogBin, "-addr", "127.0.0.1:0", "-out", out, "-interval", "20ms")
	stdout, w := newStream(t)
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	waitFor(t, 5*time.Second, "5 replies", func() (bool, string) {
		n, other, err := LastLineInt(out)
		if err != nil {
			return false, err.Error()
		}
		if len(other) > 0 {
			t.Fatalf("netprog wrote errors: %q", other)
		}
		return n >= 5, stdout.String()
	})
	m := regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("no listen address in %q", stdout.String())
	}
	probe, err := exec.Command(netprogBin, "-probe", m[1]).CombinedOutput()
	if err != nil || strings.TrimSpace(string(probe)) != "probe ok" {
		t.Fatalf("probe: %v %q", err, probe)
	}
}

func TestHarnessStreamAndCounter(t *testing.T) {
	s, w := newStream(t)
	w.WriteString("1\n2\nx\n3\n4")
	w.Close()
	if !s.WaitEOF(2 * time.Second) {
		t.Fatal("no EOF")
	}
	if got := s.LastInt(); got != 3 {
		t.Errorf("LastInt %d", got)
	}
	if got := s.Ints(); len(got) != 3 || got[2] != 3 {
		t.Errorf("Ints %v", got)
	}
	p := filepath.Join(t.TempDir(), "count")
	os.WriteFile(p, []byte("17\n"), 0o644)
	if n := MustCounter(t, p); n != 17 {
		t.Errorf("counter %d", n)
	}
}
