package integration

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunForwardsSignals: a foreground `run` passes the signals it gets on to
// the container's process, as runc does: those a terminal or service manager
// sends (SIGUSR1 here) and the rest, such as SIGRTMIN+3 (systemd's KillSignal
// for containers), caught once the process runs.
func TestRunForwardsSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGUSR1, syscall.Signal(37)} { // 37: SIGRTMIN+3 in glibc
		t.Run(fmt.Sprint(int(sig)), func(t *testing.T) {
			e := NewEnv(t)
			bundle := e.NewBundle(Shell(fmt.Sprintf("trap 'echo got-%d; exit 7' %d; echo ready; while :; do sleep 0.05; done", sig, sig)))
			id := e.ID("sig")
			p := e.Start(Stdio{}, "run", "--bundle", bundle, id)
			waitFor(t, 10*time.Second, "the container to say ready", func() (bool, string) {
				return strings.Contains(p.Out.String(), "ready"), p.Out.String()
			})
			time.Sleep(100 * time.Millisecond) // the rest of the signals are caught a moment after the start
			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			r := p.Wait(10 * time.Second)
			if r.Code != 7 || !strings.Contains(r.Stdout, fmt.Sprintf("got-%d", sig)) {
				t.Errorf("signal %d to a foreground run: want the container's trap to exit 7\n%s", sig, r)
			}
			e.ExpectGone(id)
		})
	}
}
