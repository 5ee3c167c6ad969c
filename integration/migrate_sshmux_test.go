package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestMigrateSSHSharedConnection: a user whose ~/.ssh/config shares one ssh
// connection per host (ControlMaster auto, ControlPersist), as people who
// drain a host do to skip ssh's start on every move. The first migration
// leaves the master running, the next ones go through it, lazily over the
// direct channel and by stop-and-copy through ssh, and each container counts
// on under B's root.
func TestMigrateSSHSharedConnection(t *testing.T) {
	h := newTwoHosts(t)
	h.target = h.B.SharedSSHName()
	for i, mode := range []string{"lazy", "stop-and-copy", "lazy"} {
		p := h.startSSHMemProg(fmt.Sprintf("mux%d", i), 16)
		args := []string{"--mode", mode}
		if mode == "stop-and-copy" {
			args = append(args, "--channel", "ssh")
		}
		r := h.migrateSSH(p, args...).Wait(2 * time.Minute)
		if r.Code != 0 {
			h.A.Env.Run("delete", "--force", p.ID)
			t.Fatalf("migration %d (%s) through a shared ssh connection failed:\n%s", i+1, mode, r)
		}
		rep := parseSSHReport(t, r)
		if rep.Runs != "target" || rep.Mode != mode {
			t.Fatalf("report of migration %d: %+v", i+1, rep)
		}
		last := WaitCounterAbove(t, p.B.Count, 0, 20*time.Second)
		WaitCounterAbove(t, p.B.Count, last+2, 20*time.Second)
		h.B.Env.ExpectMemoryIntact(p.B, p.ID)
		h.B.Env.MustRun("delete", "--force", p.ID)
		// The first migration started the master; it is still there for the next.
		if out, err := h.On(h.A.Host, "ssh", "-O", "check", h.target).CombinedOutput(); err != nil {
			t.Fatalf("after migration %d no shared ssh connection runs: %v: %s", i+1, err, strings.TrimSpace(string(out)))
		}
	}
}
