package criu

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The waiter kills the daemon named by its "d PID" line, with its process
// group (a CRIU probe child of it), when the pipe closes (mycr died) while the
// marker exists, and removes the marker and socket; without the marker
// (released) it kills nothing.
func TestLazyWaiter(t *testing.T) {
	for _, released := range []bool{false, true} {
		dir := t.TempDir()
		marker := filepath.Join(dir, "lazy-pages.restoring")
		socket := filepath.Join(dir, LazyPagesSocket)
		if err := os.WriteFile(socket, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		childFile := filepath.Join(dir, "child")
		daemon := exec.Command("sh", "-c", "sleep 60 & echo $! > "+childFile+"; wait")
		daemon.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // as an Outlive daemon
		if err := daemon.Start(); err != nil {
			t.Fatal(err)
		}
		var child int
		for end := time.Now().Add(5 * time.Second); child == 0 && time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
			b, _ := os.ReadFile(childFile)
			child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		exited := make(chan struct{})
		go func() { daemon.Wait(); close(exited) }() //nolint:errcheck
		guard, err := startLazyWaiter(marker, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := guard.WriteString("d " + strconv.Itoa(daemon.Process.Pid) + "\n/no/such/cgroup\n"); err != nil {
			t.Fatal(err)
		}
		if released {
			os.Remove(marker)
		}
		guard.Close()
		limit := 5 * time.Second
		if released {
			limit = 500 * time.Millisecond // long enough for the waiter to act
		}
		select {
		case <-exited:
			if released {
				t.Fatal("the waiter killed a released daemon")
			}
		case <-time.After(limit):
			if !released {
				t.Fatal("the waiter did not kill the daemon")
			}
			_ = syscall.Kill(-daemon.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if !released && alive(child) {
			t.Fatal("the waiter left the daemon's child running")
		}
		gone := func(p string) bool {
			for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
				if _, err := os.Stat(p); err != nil {
					return true
				}
			}
			return false
		}
		if !gone(marker) {
			t.Fatal("the marker is left")
		}
		if !released && !gone(socket) {
			t.Fatal("the socket is left")
		}
		if _, err := os.Stat(socket); released && err != nil {
			t.Fatal("the waiter removed a released daemon's socket")
		}
	}
}

// alive: pid runs, within 5 s (a zombie waiting for this host's slow init counts as dead).
func alive(pid int) bool {
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return false
		}
		if _, rest, _ := strings.Cut(string(b), ") "); strings.HasPrefix(rest, "Z") {
			return false
		}
	}
	return true
}
