package integration

import (
	"path/filepath"
	"testing"
	"time"
)

// TestRestoreTTY: a terminal container's pty master arrives on --console-socket;
// after checkpoint and restore with a new console socket, the NEW master drives the
// same shell. Run plainly and with --shell-job (runc needs the latter for a tty).
func TestRestoreTTY(t *testing.T) {
	requireCRIU(t)
	for _, tc := range []struct {
		name  string
		flags []string
	}{
		{"plain", nil},
		{"shell-job", []string{"--shell-job"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := NewEnv(t)
			bundle := e.NewBundle(Terminal(), Args("sh"))
			id := e.ID("tty")
			cs := NewConsoleSocket(t)
			e.MustRun("run", "-d", "--console-socket", cs.Path, "--bundle", bundle, id)
			pid := e.WaitStatus(id, "running", 5*time.Second).Pid
			m := cs.Master(t, 10*time.Second)
			// The echo of the typed line shows "$((40+2))": only the shell prints 42.
			WriteAll(t, m, "x=first; echo hello-$((40+2))\n")
			ReadUntil(t, m, "hello-42", 10*time.Second)

			img := filepath.Join(e.Dir, "image")
			e.Checkpoint(id, img, tc.flags...)
			e.ExpectCheckpointedAway(id, pid)

			cs2 := NewConsoleSocket(t)
			e.RestoreDetached(id, bundle, img, append(tc.flags, "--console-socket", cs2.Path)...)
			m2 := cs2.Master(t, 10*time.Second)
			// The shell variable set before the checkpoint shows it is the same shell.
			WriteAll(t, m2, "echo again-$((1+2))-$x\n")
			ReadUntil(t, m2, "again-3-first", 10*time.Second)
		})
	}
}
