package runtime

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/sirupsen/logrus"
)

// CRIU killed in the middle of a dump can kill the processes it dumps: it
// injects code into them (a syscall at the start of an executable mapping,
// then a parasite), and a task left with that code dies on its int3. Nothing
// can repair them once CRIU is gone, so keep what usually kills CRIU away from
// it while it runs (mycr's own watchdog, which kills a stuck CRIU, is the
// exception):
//   - terminal and stop signals: Ctrl-C, Ctrl-\, Ctrl-Z, a closed terminal, a
//     service manager's SIGTERM to the whole group. Ignored signals stay ignored
//     in the criu mycr starts (Go resets only the signals it handles).
//   - the OOM killer: oom_score_adj -1000, inherited by CRIU.
var criuShieldSignals = []os.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP, syscall.SIGTERM,
	syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU}

const oomScoreAdj = "/proc/self/oom_score_adj"

// shieldCriu applies the protections for the CRIU runs that follow; the
// returned func lifts them.
func shieldCriu() func() {
	var sigs []os.Signal
	for _, s := range criuShieldSignals {
		if !signal.Ignored(s) { // ignored from the start (nohup): stays so
			sigs = append(sigs, s)
		}
	}
	signal.Ignore(sigs...)
	old, err := os.ReadFile(oomScoreAdj)
	if err == nil {
		err = os.WriteFile(oomScoreAdj, []byte("-1000"), 0) // needs CAP_SYS_RESOURCE
	}
	set := err == nil
	if !set {
		logrus.Debugf("cannot protect CRIU from the OOM killer (oom_score_adj): %v", err)
	}
	return func() {
		if set {
			_ = os.WriteFile(oomScoreAdj, old, 0)
		}
		// Reset alone leaves an Ignore in place; after a Notify it puts Go's
		// default handling back.
		signal.Notify(make(chan os.Signal, 1), sigs...)
		signal.Reset(sigs...)
	}
}
