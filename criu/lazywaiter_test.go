package criu

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// The waiter kills the daemon named by its "d PID" line when the pipe closes
// (mycr died) while the marker exists, and removes the marker and socket;
// without the marker (released) it kills nothing.
func TestLazyWaiter(t *testing.T) {
	for _, released := range []bool{false, true} {
		dir := t.TempDir()
		marker := filepath.Join(dir, "lazy-pages.restoring")
		socket := filepath.Join(dir, LazyPagesSocket)
		if err := os.WriteFile(socket, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		daemon := exec.Command("sleep", "60")
		if err := daemon.Start(); err != nil {
			t.Fatal(err)
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
			daemon.Process.Kill()
			<-exited
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
