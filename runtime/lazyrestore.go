package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/sirupsen/logrus"

	"github.com/mycr/mycr/criu"
	"github.com/mycr/mycr/criu/host"
)

// lazyPlan decides whether restore o can be lazy; nil: not asked for.
func (r *Root) lazyPlan(o *RestoreOpts) (*LazyRun, error) {
	if o.Lazy == nil {
		return nil, nil
	}
	run := &LazyRun{ID: o.Create.ID, Start: time.Now(), recordHot: o.Lazy.RecordHot}
	if why := host.LazyPagesUnusableIn(r.Dir, r.criuBinary()); why != "" {
		if o.Lazy.NoFallback {
			return nil, fmt.Errorf("restore --lazy of %s refused: lazy pages do not work here: %s (%s); drop --no-fallback to restore eagerly (all memory loaded before the container runs)",
				o.Create.ID, why, host.UffdFix)
		}
		logrus.Warnf("restore --lazy of %s: lazy pages do not work here (%s); restoring eagerly", o.Create.ID, why)
		run.FallbackReason = why
	} else {
		run.Lazy = true
	}
	o.Criu.LazyPages = run.Lazy
	o.Lazy.mu.Lock()
	o.Lazy.runs = append(o.Lazy.runs, run)
	o.Lazy.mu.Unlock()
	return run, nil
}

func (r *Root) criuBinary() string {
	if r.Criu != nil {
		return r.Criu.Binary
	}
	return ""
}

// startDaemon starts `criu lazy-pages` on the images, where the restore finds
// its socket (CRIU's work dir), in the background: its exec and its own start
// (~10 ms of CRIU set-up) overlap with the container's creation; ready waits
// for it. Every failure after it must call abort.
func (l *LazyRun) startDaemon(bin string, co *libcontainer.CriuOpts) {
	if l == nil || !l.Lazy {
		return
	}
	work := logDir(co)
	opts := criu.LazyPagesOpts{Binary: bin, ImagesDir: co.ImagesDirectory, WorkDir: work,
		ProgressDirs: progressDirs(co), Outlive: true}
	l.LogPath = filepath.Join(work, criu.LazyPagesLog)
	l.starting = make(chan error, 1)
	go func() {
		os.Remove(filepath.Join(work, criu.LazyPagesSocket)) // a killed run's
		d, err := criu.StartLazyPages(opts)
		l.daemon = d // read only after <-l.starting
		l.starting <- err
	}()
}

// started waits for startDaemon's daemon: its start's error.
func (l *LazyRun) started() error {
	if l.starting != nil {
		l.startErr = <-l.starting
		l.starting = nil
	}
	return l.startErr
}

// ready hands the container's cgroups to the daemon's waiter (mycr dying
// before the restore completed kills them), waits until the daemon listens,
// and starts holding its userfaultfds: called right before CRIU restores.
func (l *LazyRun) ready(cgroups map[string]string) error {
	if l == nil || !l.Lazy {
		return nil
	}
	if err := l.started(); err != nil {
		return err
	}
	l.cgroups = cgroups
	var own []string
	for _, p := range ownCgroups(cgroups, l.ID) {
		own = append(own, p)
	}
	if err := l.daemon.KillFirst(own); err != nil {
		return err
	}
	if err := l.daemon.WaitReady(30*time.Second, nil); err != nil {
		return err
	}
	var err error
	if l.hold, err = criu.HoldUffds(l.daemon.Pid(), 2*time.Millisecond); err != nil {
		return fmt.Errorf("hold the restored processes' userfaultfds: %w", err)
	}
	return nil
}

// duringRestore watches the daemon while CRIU restores: a daemon that fails
// then leaves the restorer waiting on a page mycr's hold keeps from reading
// as zeros, so CRIU would hang until the watchdog's stall timeout; kill (the
// restored processes) makes CRIU fail at once instead. stop ends the watch.
func (l *LazyRun) duringRestore(kill func()) (stop func()) {
	if l == nil || l.daemon == nil {
		return func() {}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-l.daemon.Exited():
			if l.daemon.Err() != nil { // exit 0: every page in, nothing to undo
				kill()
			}
		case <-quit:
		}
	}()
	return func() { close(quit); <-done }
}

// restored is called once the restore completed: the daemon may now outlive
// mycr (the pages come from the images), and mycr watches it until the last page.
func (l *LazyRun) restored(co *libcontainer.CriuOpts, id string) {
	if l == nil {
		return
	}
	l.RunningAt = time.Now()
	if l.daemon == nil {
		return
	}
	l.hold.Scan()
	l.daemon.Release()
	os.Remove(filepath.Join(logDir(co), criu.LazyPagesSocket))
	l.done = make(chan struct{})
	go l.watch(co.ImagesDirectory, id)
}

// watch waits for the daemon: a daemon that did not finish well leaves the
// container without part of its memory, so the container is killed while mycr
// still holds its userfaultfds (its faulting threads wait instead of reading zeros).
func (l *LazyRun) watch(images, id string) {
	defer close(l.done)
	defer func() {
		l.mu.Lock()
		l.finished = true
		cleanup := l.cleanup
		l.mu.Unlock()
		if cleanup != nil {
			cleanup() // an imported archive's images: needed until the last page
		}
	}()
	<-l.daemon.Exited()
	l.HeldUffds, _ = l.hold.Count()
	os.Remove(filepath.Join(filepath.Dir(l.LogPath), criu.LazyPagesSocket))
	if err := l.daemon.Err(); err != nil {
		killed := emptyCgroups(ownCgroups(l.cgroups, id), 5*time.Second)
		l.hold.Close()
		l.err = fmt.Errorf("the lazy-pages daemon of %s ended before every page was in (%v; log %s): the container was killed (%d processes) so that it does not run on with missing memory; its images in %s are untouched: restore again (without --lazy to load all memory first)",
			id, err, l.LogPath, killed, images)
		return
	}
	l.LastPageAt = time.Now()
	if l.recordHot {
		l.HotPages, l.HotErr = markHot(images, l.LogPath)
	}
	if n, err := l.hold.Count(); n == 0 {
		logrus.Warnf("lazy restore of %s: mycr held none of the restored processes' userfaultfds (%v)", id, err)
	}
	l.hold.Close()
}

// keepImages takes over cleanup (removing an imported archive's images) when
// the daemon still reads them; false: the caller cleans up now.
func (l *LazyRun) keepImages(cleanup func()) bool {
	if l == nil || l.done == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.finished {
		return false
	}
	l.cleanup = cleanup
	return true
}

// abort undoes startDaemon for a restore that failed, and says whether the
// daemon had ended first ("" = no): the likely cause.
func (l *LazyRun) abort() string {
	if l == nil || !l.Lazy || l.done != nil || l.aborted {
		return "" // nothing started, restored (watch owns the daemon), or done
	}
	l.aborted = true
	if l.started() != nil || l.daemon == nil {
		return "" // it did not start
	}
	why := ""
	select {
	case <-l.daemon.Exited():
		why = fmt.Sprintf(" (the lazy-pages daemon had ended: %v; log %s)", l.daemon.Err(), l.LogPath)
	default:
	}
	l.daemon.Kill()
	if l.hold != nil {
		l.hold.Close()
	}
	os.Remove(filepath.Join(filepath.Dir(l.LogPath), criu.LazyPagesSocket))
	return why
}
