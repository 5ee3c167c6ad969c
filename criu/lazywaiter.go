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
// did not complete is undone (the next command removes its state). It starts
// before the daemon, which writes its own pid to it before it becomes criu
// (daemonTellsWaiter), so no moment of the daemon's life is unguarded.
const lazyWaiter = `m=$1; shift; d=; while read -r c; do case $c in "d "*) d=${c#d };; ?*) set -- "$@" "$c";; esac; done <&3; [ -e "$m" ] || exit 0
for c in "$@"; do kill -9 $(cat "$c/cgroup.procs" 2>/dev/null) 2>/dev/null; done; [ -z "$d" ] || kill -9 "$d"; rm -f "$m" "${m%/*}/` + LazyPagesSocket + `"`

// startLazyWaiter writes the marker and starts the waiter; writing to (and
// closing) the returned pipe talks to it.
func startLazyWaiter(marker string, killFirst []string) (*os.File, error) {
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		return nil, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		os.Remove(marker)
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
		os.Remove(marker)
		return nil, fmt.Errorf("start the lazy-pages daemon's waiter: %w", err)
	}
	go w.Wait() //nolint:errcheck // reaps it; it exits once the pipe closes
	return pw, nil
}
