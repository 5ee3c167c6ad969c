package integration

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPageServerUnreachable: a checkpoint to a page server nobody listens on
// says it cannot connect to that address (it said "Unable to detach from N:
// No such process") and leaves the container running.
func TestPageServerUnreachable(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	c := e.StartCounter("psdown")
	addr := closedPort(t)
	r := e.MustFail("checkpoint", "--page-server", addr, "--image-path", filepath.Join(e.Dir, "image"), c.ID)
	t.Logf("%s", r.Stderr)
	if !strings.Contains(r.Stderr, "cannot connect to the page server at "+addr) {
		t.Errorf("checkpoint to %s (nothing listening): the error should say it cannot connect to the page server there\n%s", addr, r)
	}
	if strings.Contains(r.Stderr, "Unable to detach") {
		t.Errorf("the error quotes CRIU's aftermath instead of the cause:\n%s", r)
	}
	e.ExpectRunningNotPaused(c.ID, c.Pid)
	WaitCounterAbove(t, c.Count, MustCounter(t, c.Count)+2, 10*time.Second)
}

// closedPort is a loopback address nothing listens on (a port the kernel
// just handed out and this test closed again).
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprintf("127.0.0.1:%d", l.Addr().(*net.TCPAddr).Port)
}
