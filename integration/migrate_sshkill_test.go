package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMigrateSSHKilled kills the ssh session at points spread over a lazy or
// stop-and-copy migration (by how many bytes crossed B's link: 0 = as soon
// as ssh runs, up to after the last byte), alternately the client on A and
// the session's sshd process on B. Whatever the moment, exactly one copy
// runs afterwards, the one the migration's outcome names: the source, still
// counting with every page intact, and nothing left on B; or, if the
// migration had committed, the target, and nothing left on A.
// MYCR_SSH_KILL_TRIALS (default 3; 20 in make reliability) sets the count.
func TestMigrateSSHKilled(t *testing.T) {
	h := newTwoHosts(t)
	h.faultTrials(t, "kill", envTrials("MYCR_SSH_KILL_TRIALS", 3),
		"ssh session killed (client on A or sshd session on B) at points spread over a lazy or stop-and-copy migration to another host",
		func(i int, proc *Proc, start, at int64) (string, func()) {
			return h.killSSHAt(proc, i%4 >= 2, start, at), nil
		})
}

// TestMigrateSSHLinkCut cuts the link between the hosts (B's port on the
// switch down: packets vanish, no connection is closed) at points spread over
// a migration, and puts it back once the source's mycr has ended (about 15 s
// later: ssh's keepalives) or, for half the trials, only after the target
// had time to give up on its own (its heartbeat timeout). Exactly one copy
// runs afterwards, as for a killed session. MYCR_LINK_CUT_TRIALS (default 2;
// 20 in make reliability) sets the count.
func TestMigrateSSHLinkCut(t *testing.T) {
	h := newTwoHosts(t)
	h.faultTrials(t, "cut", envTrials("MYCR_LINK_CUT_TRIALS", 2),
		"link between the hosts cut (no packet passes, nothing closed) at points spread over a lazy or stop-and-copy migration to another host",
		func(i int, proc *Proc, start, at int64) (string, func()) {
			return h.cutLinkAt(proc, start, at), func() {
				if i%4 >= 2 { // the target sees the silence itself
					time.Sleep(25 * time.Second)
				}
				h.setLink(true)
			}
		})
}

func envTrials(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// faultTrials runs trials migrations of memprog from A to B, alternating
// lazy and stop-and-copy, each hit by fault at a point spread over [0, 1.1]
// of the bytes it moves, and checks that exactly one copy runs afterwards.
func (h *twoHosts) faultTrials(t *testing.T, name string, trials int, what string, fault func(i int, proc *Proc, start, at int64) (string, func())) {
	const mb = 16
	expect := int64(mb << 20)
	var sourceRuns, targetRuns int
	for i := 0; i < trials; i++ {
		mode := []string{"lazy", "stop-and-copy"}[i%2]
		// The last points fall after the transfer (commit, or the migration already done).
		frac := float64(i) * 1.1 / float64(max(trials-1, 1))
		t.Run(fmt.Sprintf("%02d-%s-%.2f", i, mode, frac), func(t *testing.T) {
			p := h.startSSHMemProg(fmt.Sprintf("%s%d", name, i), mb)
			defer h.A.Env.Run("delete", "--force", p.ID)
			defer h.B.Env.Run("delete", "--force", p.ID)
			start := h.VethBytes(h.B)
			proc := h.migrateSSH(p, "--mode", mode)
			did, after := fault(i, proc, start, int64(frac*float64(expect)))
			r := proc.Wait(4 * time.Minute)
			if after != nil {
				after()
			}
			t.Logf("%s: migrate exit %d after %v: %s", did, r.Code, r.Dur.Round(time.Millisecond), lastLine(strings.TrimSpace(r.Stderr)))
			if r.Code < 0 {
				t.Fatalf("migrate did not end:\n%s", r)
			}
			if r.Code == 0 {
				targetRuns++
				h.expectOnlyOn(t, h.B, h.A, p, p.B)
				return
			}
			sourceRuns++
			said := false
			for _, s := range []string{"still running on the source", "restored on the source", "not touched"} {
				said = said || strings.Contains(r.Stderr, s)
			}
			var rep sshReport
			if err := json.Unmarshal([]byte(lastLine(r.Stdout)), &rep); err != nil || rep.Runs != "source" || rep.Error == "" {
				t.Errorf("the failed migration's JSON report does not say the source runs: %q (%v)", r.Stdout, err)
			}
			if !said {
				t.Errorf("the failed migration does not say the source runs:\n%s", r)
			}
			h.expectOnlyOn(t, h.A, h.B, p, p.A)
		})
	}
	logResult(t, reliabilityResult{Fault: what,
		Trials: trials, Outcomes: map[string]int{"source runs, target destroyed": sourceRuns, "target runs (migration done)": targetRuns},
		Note: "every trial: exactly one copy runs, counting with every page intact, nothing left on the other host"})
}

// cutLinkAt waits until at least at bytes crossed B's link since start, then
// cuts the link (see setLink).
func (h *twoHosts) cutLinkAt(p *Proc, start, at int64) string {
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) && !p.Exited() {
		if n := h.VethBytes(h.B) - start; n >= at {
			h.setLink(false)
			return fmt.Sprintf("link cut at %d bytes", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.setLink(false) // the migration was over first: the link goes back up after it
	return "link cut after the migration"
}

// setLink puts B's port on the switch up or down.
func (h *twoHosts) setLink(up bool) {
	state := map[bool]string{true: "up", false: "down"}[up]
	if out, err := h.SwitchCmd("ip", "link", "set", "v"+h.B.Name, state).CombinedOutput(); err != nil {
		h.t.Errorf("link %s: %v: %s", state, err, out)
	}
}

// killSSHAt waits until at least at bytes crossed B's link since start, then
// kills the ssh client (on A) or its sshd session process (on B).
func (h *twoHosts) killSSHAt(p *Proc, onB bool, start, at int64) string {
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) && !p.Exited() {
		if h.VethBytes(h.B)-start < at {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		var pid int
		if onB {
			pid = childNamed(h.B.SSHDPid(), "sshd")
		} else {
			pid = childNamed(p.Pid(), "ssh")
		}
		if pid == 0 {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
		side := "A's ssh"
		if onB {
			side = "B's sshd session"
		}
		return fmt.Sprintf("%s at %d bytes", side, h.VethBytes(h.B)-start)
	}
	return "nothing (migration over first)"
}

// childNamed is a child of pid whose command is name (0 if none).
func childNamed(pid int, name string) int {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, task := range tasks {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, task.Name()))
		for _, c := range strings.Fields(string(b)) {
			cpid, _ := strconv.Atoi(c)
			comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", cpid))
			if strings.TrimSpace(string(comm)) == name {
				return cpid
			}
		}
	}
	return 0
}

// expectOnlyOn checks the container runs on host on (counting, every page
// intact) and is gone from host off.
func (h *twoHosts) expectOnlyOn(t *testing.T, on, off *netHost, p *sshMemProg, mp *MemProg) {
	t.Helper()
	on.Env.WaitStatus(p.ID, "running", 10*time.Second)
	last := WaitCounterAbove(t, mp.Count, 0, 20*time.Second)
	WaitCounterAbove(t, mp.Count, last+2, 20*time.Second)
	on.Env.ExpectMemoryIntact(mp, p.ID)
	// The target may take its heartbeat timeout (20 s) to see a cut link.
	waitFor(t, 40*time.Second, "no container left on host "+off.Name, func() (bool, string) {
		r := h.RunOn(off, defaultTimeout, "list", "-q")
		return r.Code == 0 && strings.TrimSpace(r.Stdout) == "", r.Stdout + r.Stderr
	})
}
