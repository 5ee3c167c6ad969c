package criu

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// LazyPagesSocket is where the daemon listens for the restore, in its work
// dir; the restore looks for it in its own work dir, so both must agree.
const LazyPagesSocket = "lazy-pages.socket"

// lazyWaiter kills the processes of the cgroups ($2..., and each line read
// from fd 3 but "d PID": KillFirst), then the daemon (the line "d PID"), when
// mycr is gone (fd 3 reads EOF) while the marker ($1) exists: a restore that
// did not complete is undone (the next command removes its state). The daemon
// leads its own session, so its process group goes with it: a daemon killed
// while CRIU probes the kernel leaves a forked probe child sleeping forever
// otherwise. It starts
// before the daemon, which writes its own pid to it before it becomes criu
// (daemonTellsWaiter), so no moment of the daemon's life is unguarded.
const lazyWaiter = `m=$1; shift; d=; while read -r c; do case $c in "d "*) d=${c#d };; ?*) set -- "$@" "$c";; esac; done <&3; [ -e "$m" ] || exit 0
for c in "$@"; do kill -9 $(cat "$c/cgroup.procs" 2>/dev/null) 2>/dev/null; done; [ -z "$d" ] || { kill -9 -"$d"; kill -9 "$d"; } 2>/dev/null; rm -f "$m" "${m%/*}/` + LazyPagesSocket + `"`

// startLazyWaiter starts the waiter, then writes the marker (in that order: a
// mycr killed in between leaves no marker without a waiter to remove it; a
// waiter that finds no marker has nothing to undo, the daemon starts later);
// writing to (and closing) the returned pipe talks to it.
func startLazyWaiter(marker string, killFirst []string) (*os.File, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	args := append([]string{"-c", lazyWaiter, "mycr-lazy-waiter", marker}, killFirst...)
	w := exec.Command("/bin/sh", args...)
	w.ExtraFiles = []*os.File{pr}
	w.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = w.Start()
	pr.Close()
	if err != nil {
		pw.Close()
		return nil, fmt.Errorf("start the lazy-pages daemon's waiter: %w", err)
	}
	go w.Wait() //nolint:errcheck // reaps it; it exits once the pipe closes
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		pw.Close() // the waiter finds no marker and exits
		return nil, err
	}
	return pw, nil
}
