package criu

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// explainCase provokes one real CRIU failure and says what Explain must find.
type explainCase struct {
	name     string
	setup    func(t *testing.T) (pid int, flags []string)
	errLine  string // in one of the quoted Error lines
	hint     string // in one of the hints
	imageDir func(t *testing.T) string
}

func TestExplainRealCriuFailures(t *testing.T) {
	bin := needCriu(t)
	unsetEnv(t, "CRIU_FAULT")
	plain := func(t *testing.T) (int, []string) { return startHelper(t, "sleep").Process.Pid, nil }
	cases := []explainCase{
		{name: "tty without --shell-job", setup: onPty,
			errLine: "tty: Found slave peer", hint: "--shell-job"},
		{name: "not a session leader", setup: func(t *testing.T) (int, []string) {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), helperEnv+"=sleep")
			return startCmd(t, cmd), nil
		}, errLine: "session leader", hint: "--shell-job"}, // "is not a session leader", or "… is outside of its pid namespace" when the test's own session leader is (CI)
		{name: "external unix socket", setup: func(t *testing.T) (int, []string) {
			return startHelper(t, "unix", unixPeer(t)).Process.Pid, nil
		}, errLine: "External socket is used", hint: "--ext-unix-sk"},
		{name: "half of a stream unix connection", setup: func(t *testing.T) (int, []string) {
			return startHelper(t, "unix", unixPeer(t)).Process.Pid, []string{"--ext-unix-sk"}
		}, errLine: "Can't dump half of stream unix connection", hint: "both ends"},
		{name: "established TCP", setup: func(t *testing.T) (int, []string) {
			return startHelper(t, "tcp", tcpPeer(t)).Process.Pid, nil
		}, errLine: "Connected TCP socket", hint: "--tcp-established"},
		{name: "full image filesystem", setup: plain, imageDir: smallTmpfs,
			errLine: "No space left on device", hint: "filesystem is full"},
		{name: "--track-mem without soft-dirty", setup: func(t *testing.T) (int, []string) {
			if exec.Command(bin, "check", "--feature", "mem_dirty_track").Run() == nil {
				t.Skip("this kernel tracks soft-dirty pages")
			}
			return startHelper(t, "sleep").Process.Pid, []string{"--track-mem"}
		}, errLine: "Tracking memory is not available", hint: "soft-dirty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pid, flags := c.setup(t)
			dir := t.TempDir()
			if c.imageDir != nil {
				dir = c.imageDir(t)
			}
			logPath, err := criuDump(bin, pid, dir, t.TempDir(), flags...)
			if err == nil {
				t.Fatal("dump unexpectedly succeeded")
			}
			checkExplained(t, Explain(err, logPath), err, logPath, c.errLine, c.hint)
		})
	}
}

// Restoring while the dumped process still runs: its PID is taken.
func TestExplainPidInUse(t *testing.T) {
	bin := needCriu(t)
	unsetEnv(t, "CRIU_FAULT")
	pid := startHelper(t, "sleep").Process.Pid
	dir, logDir := t.TempDir(), t.TempDir()
	if logPath, err := criuDump(bin, pid, dir, logDir); err != nil {
		t.Fatal(Explain(err, logPath))
	}
	out, err := exec.Command(bin, "restore", "-D", dir, "-W", logDir, "-o", "restore.log", "-v4", "-d").CombinedOutput()
	if err == nil {
		t.Fatalf("restore over a live pid succeeded: %s", out)
	}
	logPath := filepath.Join(logDir, "restore.log")
	checkExplained(t, Explain(err, logPath), err, logPath,
		fmt.Sprintf("Can't fork for %d: File exists", pid), "PID still exists")
}

func checkExplained(t *testing.T, got, orig error, logPath, errLine, hint string) {
	t.Helper()
	var ee *ExplainedError
	if !errors.As(got, &ee) || !errors.Is(got, orig) {
		t.Fatalf("not an ExplainedError wrapping the original: %v", got)
	}
	msg := got.Error()
	t.Logf("%s", msg)
	if !strings.Contains(msg, orig.Error()) || !strings.Contains(msg, logPath) {
		t.Errorf("message lost the original error or the log path")
	}
	if !strings.Contains(strings.Join(ee.Errors, "\n"), errLine) {
		t.Errorf("Error lines %q lack %q", ee.Errors, errLine)
	}
	if !strings.Contains(strings.Join(ee.Hints, "\n"), hint) {
		t.Errorf("hints %q lack %q", ee.Hints, hint)
	}
	if len(ee.Errors) > maxErrorLines || strings.Contains(msg, "RLIMIT_NOFILE") {
		t.Errorf("too many or benign Error lines: %q", ee.Errors)
	}
}

func TestExplainUnreadableLog(t *testing.T) {
	orig := errors.New("criu failed: type NOTIFY errno 0")
	if got := Explain(orig, filepath.Join(t.TempDir(), "missing.log")); got != orig {
		t.Fatalf("got %v", got)
	}
	if Explain(nil, "/x") != nil {
		t.Fatal("nil error must stay nil")
	}
}

// The breakpoint hang cannot be provoked on a machine whose breakpoints
// work: this log tail is the sequence CRIU 4.2.1 writes around the trap
// (copied from a real, successful dump) cut where the hang stops it.
func TestExplainBreakpointStall(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "dump.log")
	os.WriteFile(logPath, []byte(`(00.050924) ----------------------------------------
(00.050934) Waiting for 10908 to trap
(00.050937) Daemon 10908 exited trapping
(00.050941) Sent msg to daemon 3 0 0
pie: 10908: __fetched msg: 3 0 0
pie: 10908: 10908: new_sp=0x7f38c92453c8 ip 0x7f38c9380503
`), 0o600)
	if !StalledAtBreakpoint(logPath) {
		t.Fatal("breakpoint stall not recognised")
	}
	err := Explain(&StallError{LogPath: logPath, Killed: []int{1}}, logPath)
	if !errors.Is(err, ErrStalled) || !strings.Contains(err.Error(), "MYCR_HW_BREAKPOINTS=broken") {
		t.Fatalf("got %v", err)
	}
	os.WriteFile(logPath, []byte("(00.046771) page-pipe: Will grow page pipe (iov off is 0)\n"), 0o600)
	err = Explain(&StallError{LogPath: logPath}, logPath)
	if StalledAtBreakpoint(logPath) || !strings.Contains(err.Error(), EnvTimeout) {
		t.Fatalf("other stall: %v", err)
	}
}

// onPty runs the helper with a pseudo-terminal (not part of the dump) as
// its controlling terminal, as a container with `terminal: true` has.
func onPty(t *testing.T) (int, []string) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err == nil {
		err = unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0)
	}
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"=sleep")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s, s, s
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	return startCmd(t, cmd), nil
}

func startCmd(t *testing.T, cmd *exec.Cmd) int {
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd.Process.Pid
}

// unixPeer listens on a unix socket and keeps the accepted connection open.
func unixPeer(t *testing.T) string {
	return listenPeer(t, "unix", filepath.Join(t.TempDir(), "peer.sock"))
}

func tcpPeer(t *testing.T) string { return listenPeer(t, "tcp", "127.0.0.1:0") }

func listenPeer(t *testing.T, network, addr string) string {
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan net.Conn, 1)
	go func() {
		if c, err := l.Accept(); err == nil {
			conns <- c
		}
	}()
	t.Cleanup(func() {
		l.Close()
		select {
		case c := <-conns:
			c.Close()
		default:
		}
	})
	return l.Addr().String()
}

// smallTmpfs is a 256 KiB image dir: far too small for any process.
func smallTmpfs(t *testing.T) string {
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=256k"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

// Version problems arrive in libcontainer's error text; feature warnings in
// a log must not trigger the "lacks a needed feature" hint, errors must.
func TestExplainFeatureHints(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "dump.log")
	os.WriteFile(logPath, []byte("(00.001) Warn  (criu/kerndat.c:1): NSID isn't supported\n"), 0o600)
	var ee *ExplainedError
	if err := Explain(errors.New("criu failed: type NOTIFY errno 0"), logPath); !errors.As(err, &ee) || len(ee.Hints) != 0 {
		t.Fatalf("warning produced hints: %v", err)
	}
	err := Explain(errors.New("CRIU version 31700 must be 40200 or higher"), logPath)
	if !strings.Contains(err.Error(), "make deps") {
		t.Fatalf("got %v", err)
	}
	os.WriteFile(logPath, []byte("(00.001) pie: 42: Error (criu/timens.c:1): Time namespaces are not supported\n"), 0o600)
	if err := Explain(errors.New("x"), logPath); !errors.As(err, &ee) || len(ee.Errors) != 1 || !strings.Contains(err.Error(), "mycr check") {
		t.Fatalf("restorer-blob error line missed: %v", err)
	}
}

// Real lines of CRIU 4.2.1 logs: errors of CRIU itself, of the restorer blob
// ("pie: N: ") and of a restored task ("     N: "), which restore's causes are.
func TestExplainLogLines(t *testing.T) {
	cases := []struct {
		name, log, first, hint string
	}{
		{name: "restored task: TCP without --tcp-established", log: `(00.002037) Error (criu/util.c:1534): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted
(00.076625)      1: inet: 	Restore: family AF_INET    type SOCK_STREAM    proto IPPROTO_TCP      port 55790 state TCP_ESTABLISHED  src_addr 127.0.0.1
(00.076635)      1: Error (criu/sk-inet.c:912): inet: Connected TCP socket in image
(00.076650)      1: Error (criu/files.c:1221): Unable to open fd=6 id=0x8
(00.079693) mnt: Switching to new ns to clean ghosts
(00.080445) Error (criu/cr-restore.c:2331): Restoring FAILED.
(00.083422) Error (criu/cgroup.c:2055): cg: cgroupd: recv req error: No such file or directory
`, first: "Error (criu/sk-inet.c:912): inet: Connected TCP socket in image", hint: "--tcp-established"},
		{name: "restored task: read-only root", log: `(00.024080)      1: mnt: Mounting root @ /tmp/.criu.mntns.Xb3kQ1/mnt-0000000433
(00.024087)      1: Error (criu/mount.c:2955): mnt: Can't create a temporary directory: Read-only file system
(00.031501) Error (criu/cr-restore.c:2331): Restoring FAILED.
`, first: "Error (criu/mount.c:2955): mnt: Can't create a temporary directory: Read-only file system", hint: "rootfs/tmp"},
		{name: "restored task: bad mode", log: `(00.061120)      1: Error (criu/files-reg.c:2294): File . has bad mode 040700 (expect 040755)
(00.061126)      1: File r/w/x checks can be skipped with the --skip-file-rwx-check option
(00.061131)      1: Error (criu/files.c:1393): Can't open root
(00.066100) Error (criu/cr-restore.c:1265): 21837 exited, status=1
(00.069902) Error (criu/cr-restore.c:2331): Restoring FAILED.
`, first: "Error (criu/files-reg.c:2294): File . has bad mode 040700 (expect 040755)", hint: "chmod it back"},
		{name: "restored task: file gone", log: `(00.006803) Error (criu/util.c:1534): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted
(00.026220)      1: Error (criu/files-reg.c:2353): Can't open file out/c on restore: No such file or directory
(00.026222)      1: Error (criu/files-reg.c:2267): Can't open file out/c: No such file or directory
(00.026224)      1: Error (criu/files.c:1221): Unable to open fd=3 id=0x4
(00.027157) Error (criu/cr-restore.c:2331): Restoring FAILED.
`, first: "Error (criu/files-reg.c:2353): Can't open file out/c on restore: No such file or directory", hint: "(out/c, below its mount) is gone"},
		{name: "restored task: file size", log: `(00.031234)      1: Error (criu/files-reg.c:2175): File out/log has bad size 120 (expect 96)
(00.031301)      1: Error (criu/files.c:1221): Unable to open fd=3 id=0x4
(00.032157) Error (criu/cr-restore.c:2331): Restoring FAILED.
`, first: "Error (criu/files-reg.c:2175): File out/log has bad size 120 (expect 96)", hint: "(out/log, below its mount)"},
		{name: "CRIU itself", log: `(00.021406) Error (criu/sk-inet.c:201): inet: Connected TCP socket, consider using --tcp-established option.
(00.021500) Error (criu/cr-dump.c:2111): Dumping FAILED.
`, first: "Error (criu/sk-inet.c:201): inet: Connected TCP socket, consider using --tcp-established option.", hint: "--tcp-established"},
		{name: "page server not listening", log: `(00.029560) Connecting to server 127.0.0.1:32989
(00.029725) Can't connect to server 127.0.0.1:32989
(00.029828) Error (compel/src/lib/infect.c:417): Unable to detach from 7165: No such process
(00.029871) Error (criu/cr-dump.c:1975): Dumping FAILED.
`, first: "Can't connect to server 127.0.0.1:32989", hint: "cannot connect to the page server at 127.0.0.1:32989:"},
		{name: "restorer blob", log: `pie: 7: Error (criu/pie/restorer.c:1234): Unable to map vma
(00.031501) Error (criu/cr-restore.c:2331): Restoring FAILED.
`, first: "Error (criu/pie/restorer.c:1234): Unable to map vma"},
		{name: "only the verdict", log: "(00.031501) Error (criu/cr-restore.c:2331): Restoring FAILED.\n",
			first: "Error (criu/cr-restore.c:2331): Restoring FAILED."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			logPath := filepath.Join(t.TempDir(), "restore.log")
			if err := os.WriteFile(logPath, []byte(c.log), 0o600); err != nil {
				t.Fatal(err)
			}
			var ee *ExplainedError
			if !errors.As(Explain(errors.New("criu failed: type RESTORE errno 0"), logPath), &ee) || len(ee.Errors) == 0 {
				t.Fatalf("no Error line quoted from\n%s", c.log)
			}
			if ee.Errors[0] != c.first {
				t.Errorf("first quoted line %q, want %q (all: %q)", ee.Errors[0], c.first, ee.Errors)
			}
			if c.hint != "" && !strings.Contains(strings.Join(ee.Hints, "\n"), c.hint) {
				t.Errorf("hints %q lack %q", ee.Hints, c.hint)
			}
			if c.first != "Error (criu/cr-restore.c:2331): Restoring FAILED." && strings.Contains(ee.Error(), "FAILED.") {
				t.Errorf("the verdict hides the cause: %q", ee.Errors)
			}
		})
	}
}
