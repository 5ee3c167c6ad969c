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
	trials := 3
	if v, err := strconv.Atoi(os.Getenv("MYCR_SSH_KILL_TRIALS")); err == nil && v > 0 {
		trials = v
	}
	h := newTwoHosts(t)
	const mb = 16
	expect := int64(mb << 20)
	var sourceRuns, targetRuns int
	for i := 0; i < trials; i++ {
		mode := []string{"lazy", "stop-and-copy"}[i%2]
		// Spread over [0, 1.1] of the expected bytes: the last points fall
		// after the transfer (commit, or the migration already done).
		frac := float64(i) * 1.1 / float64(max(trials-1, 1))
		onB := i%4 >= 2
		t.Run(fmt.Sprintf("%02d-%s-%.2f", i, mode, frac), func(t *testing.T) {
			p := h.startSSHMemProg(fmt.Sprintf("kill%d", i), mb)
			defer h.A.Env.Run("delete", "--force", p.ID)
			defer h.B.Env.Run("delete", "--force", p.ID)
			start := h.VethBytes(h.B)
			proc := h.migrateSSH(p, "--mode", mode)
			killed := h.killSSHAt(proc, onB, start, int64(frac*float64(expect)))
			r := proc.Wait(4 * time.Minute)
			t.Logf("killed=%s migrate exit %d after %v: %s", killed, r.Code, r.Dur.Round(time.Millisecond), lastLine(strings.TrimSpace(r.Stderr)))
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
	logResult(t, reliabilityResult{Fault: "ssh session killed (client on A or sshd session on B) at points spread over a lazy or stop-and-copy migration to another host",
		Trials: trials, Outcomes: map[string]int{"source runs, target destroyed": sourceRuns, "target runs (migration done)": targetRuns},
		Note: "every trial: exactly one copy runs, counting with every page intact, nothing left on the other host"})
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
	waitFor(t, 20*time.Second, "no container left on host "+off.Name, func() (bool, string) {
		r := h.RunOn(off, defaultTimeout, "list", "-q")
		return r.Code == 0 && strings.TrimSpace(r.Stdout) == "", r.Stdout + r.Stderr
	})
}
