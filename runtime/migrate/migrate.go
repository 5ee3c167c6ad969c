// Package migrate live-migrates a running container from one state root to
// another: post-copy with CRIU's lazy pages (the source is frozen only while its
// non-memory state moves), or stop-and-copy. It drives runtime.Root's public
// lifecycle primitives (lock, load, dump, restore) and never leaves the
// container lost: before the switch the source keeps running.
package migrate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/mycr/mycr/criu"
	"github.com/mycr/mycr/runtime"
	"github.com/mycr/mycr/spec"
)

// Migration modes.
const (
	// Lazy is post-copy: the source is frozen only while its non-memory
	// state is dumped, copied and restored; memory follows on demand (CRIU lazy
	// pages over userfaultfd) while the target already runs.
	Lazy = "lazy"
	// StopCopy checkpoints everything, copies it and restores it: the
	// frozen time grows with the memory size.
	StopCopy = "stop-and-copy"
)

// Opts describe a live migration of a running container to another state
// root (the "target host"; on one machine in tests, see docs/portable.md).
type Opts struct {
	ID          string
	Target      *runtime.Root     // state root of the target
	TargetID    string            // "" = ID
	Bundle      string            // target bundle; "" = the source container's bundle
	RemapMounts map[string]string // bind mount destination -> host source on the target
	// ImagePath and TargetImagePath hold the source's images and their copy on
	// the target; "" = private directories under $TMPDIR, removed on success.
	ImagePath, TargetImagePath string
	Address                    string // where the target fetches memory pages (loopback)
	Port                       int    // 0 = any free port
	Mode                       string // Lazy (default) or StopCopy
	NoFallback                 bool   // lazy mode: fail instead of falling back to stop-and-copy
	KeepImages                 bool   // keep the default image dirs after a success
	// Criu carries the flags shared with checkpoint/restore (tcp-established,
	// ext-unix-sk, shell-job, file-locks, manage-cgroups-mode); image paths,
	// lazy pages and the page server are set by Migrate.
	Criu   libcontainer.CriuOpts
	Launch runtime.LaunchOpts // the target's stdio (detached), console socket, pid file
	// Ctx cancels a migration that has not switched over yet (SIGINT/SIGTERM).
	Ctx context.Context
	// Notify receives progress messages meant for the user (nil: logged at info level).
	Notify func(string)
}

// migration is one run of Migrate.
type migration struct {
	r, dst     *runtime.Root
	o          Opts
	c          *libcontainer.Container
	state      *libcontainer.State
	lock       *runtime.Lock
	srcBundle  string      // the source container's bundle (for a rollback)
	bundle     string      // the target's bundle
	spec       *specs.Spec // the target's config
	srcDir     string
	dstDir     string
	tempBase   string // default image dirs live here ("" if both were given)
	start      time.Time
	rep        *Report
	freeze     *freezeWatch
	dumpStart  time.Time
	restoredAt time.Time
	psAddr     string // the lazy dump's page server (private, loopback)
}

// errSwitchedOver marks an error after which the target, not the source, runs.
var errSwitchedOver = errors.New("the container runs on the target")

// Run moves a running container to o.Target: lazily (post-copy) by default,
// by stop-and-copy on request or when lazy pages cannot work here. On any
// failure before the switch the source container keeps running (or, in
// stop-and-copy after its dump, is restored on the source from its images).
func Run(r *runtime.Root, o Opts) (*Report, error) {
	m := &migration{r: r, dst: o.Target, o: o, start: time.Now()}
	if m.o.Ctx == nil {
		m.o.Ctx = context.Background()
	}
	if err := m.plan(); err != nil {
		return nil, err
	}
	lock, err := r.Lock(o.ID, "migrate")
	if err != nil {
		return nil, err
	}
	m.lock = lock
	defer func() { m.lock.Unlock() }()
	if err := m.makeDirs(); err != nil {
		return nil, err
	}
	if err := m.load(); err != nil {
		m.removeTemp()
		return nil, err
	}
	// Images hold process memory: CRIU and the copy must create them 0600.
	oldUmask := unix.Umask(0o077)
	defer unix.Umask(oldUmask)

	mode := m.o.Mode
	if mode == Lazy {
		if why := lazyUnusable(r.Criu); why != "" {
			if m.o.NoFallback {
				m.removeTemp() // nothing ran: no logs worth keeping
				return nil, fmt.Errorf("lazy migration cannot work here: %s (the container was not touched)", why)
			}
			m.notify("lazy pages cannot work here (%s): falling back to stop-and-copy, the container stays frozen while all its memory is copied", why)
			m.rep.FallbackReason, mode = why, StopCopy
		}
	}
	err = m.run(mode)
	var refused *lazyRefusedError
	if errors.As(err, &refused) && !m.o.NoFallback {
		why := "lazy migration failed before the switch: " + firstLineOf(refused.Err.Error())
		m.notify("%s; the container is running, falling back to stop-and-copy", why)
		m.rep.FallbackReason = why
		if err = m.resetSourceDir(); err == nil {
			err = m.run(StopCopy)
		}
	}
	if err != nil {
		m.keepDirsOnFailure()
		return nil, err
	}
	m.finish()
	return m.rep, nil
}

// run runs one mode, once more without hardware breakpoints if CRIU hung on one.
func (m *migration) run(mode string) error {
	m.rep.Mode = mode
	attempt := func() error {
		if mode == Lazy {
			return m.lazy()
		}
		return m.stopAndCopy()
	}
	err := attempt()
	env := m.r.Criu
	logPath := filepath.Join(m.srcDir, "dump.log")
	if err == nil || errors.Is(err, errSwitchedOver) || env == nil || env.Fault != "" ||
		!criu.HungAtBreakpoint(err, logPath) { // not when CRIU was stopped by a signal
		return err
	}
	if derr := env.DisableHWBreakpoints(m.r.Dir); derr != nil {
		return err
	}
	m.notify("CRIU hung waiting for a hardware breakpoint; retrying with CRIU_FAULT=%s (kept for this boot)", env.Fault)
	if rerr := m.resetSourceDir(); rerr != nil {
		return rerr
	}
	return attempt()
}

// plan checks everything that can be checked before the container is touched.
func (m *migration) plan() error {
	o := &m.o
	if o.Target == nil {
		return errors.New("no target: pass --to-root DIR")
	}
	if o.TargetID == "" {
		o.TargetID = o.ID
	}
	for _, id := range []string{o.ID, o.TargetID} {
		if err := spec.ValidateID(id); err != nil {
			return err
		}
	}
	if o.Target.Dir == m.r.Dir && o.TargetID == o.ID {
		return fmt.Errorf("the target is the source itself: pass another --to-root or a --target-id")
	}
	if o.Target.Exists(o.TargetID) {
		return fmt.Errorf("container %s already exists in %s: pick another --target-id", o.TargetID, o.Target.Dir)
	}
	switch o.Mode {
	case "":
		o.Mode = Lazy
	case Lazy, StopCopy:
	default:
		return fmt.Errorf("invalid --mode %q: use %s or %s", o.Mode, Lazy, StopCopy)
	}
	if o.Address == "" {
		o.Address = "127.0.0.1"
	}
	ip := net.ParseIP(o.Address)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--address %q: only a loopback address is supported (both roots on this machine); see docs/portable.md for two hosts", o.Address)
	}
	if o.Port < 0 || o.Port > 65535 {
		return fmt.Errorf("invalid --port %d", o.Port)
	}
	m.rep = &Report{ID: o.ID, TargetID: o.TargetID, TargetRoot: o.Target.Dir}
	return nil
}

// load opens the source (under its lock) and the target's bundle.
func (m *migration) load() error {
	c, err := m.r.Load(m.o.ID)
	if err != nil {
		return err
	}
	status, err := c.Status()
	if err != nil {
		return err
	}
	if status != libcontainer.Running {
		return fmt.Errorf("cannot migrate container %s: it is %s (only a running container migrates; resume a paused one first)", m.o.ID, status)
	}
	if m.state, err = c.State(); err != nil {
		return err
	}
	m.c, m.srcBundle = c, runtime.Bundle(c)
	bundle := m.o.Bundle
	if bundle == "" {
		bundle = m.srcBundle
	}
	if m.bundle, m.spec, err = runtime.LoadBundle(bundle); err != nil {
		return fmt.Errorf("target bundle: %w (the container was not touched)", err)
	}
	if err := runtime.RemapMounts(m.spec, m.o.RemapMounts); err != nil {
		return err
	}
	if err := runtime.CheckBindSources(m.spec); err != nil {
		return fmt.Errorf("the target cannot restore it: %w (the container was not touched)", err)
	}
	m.o.Launch.IO.Detach = true
	m.o.Launch.IO.Terminal = m.spec.Process.Terminal
	if err := runtime.CheckTerminal(m.o.Launch.IO); err != nil {
		return fmt.Errorf("%w: a container with a terminal needs --console-socket for its new pty", err)
	}
	return nil
}

// makeDirs creates the image directories: given ones must be empty.
func (m *migration) makeDirs() error {
	var err error
	if m.o.ImagePath == "" || m.o.TargetImagePath == "" {
		if m.tempBase, err = os.MkdirTemp("", "mycr-migrate-"+m.o.ID+"-"); err != nil {
			return err
		}
	}
	pick := func(given, name string) (string, error) {
		if given == "" {
			return filepath.Join(m.tempBase, name), nil
		}
		abs, err := filepath.Abs(given)
		if err != nil {
			return "", err
		}
		if ents, err := os.ReadDir(abs); err == nil && len(ents) > 0 {
			return "", fmt.Errorf("image path %s is not empty: migrate needs an empty or new directory", abs)
		}
		return abs, nil
	}
	if m.srcDir, err = pick(m.o.ImagePath, "source"); err == nil {
		m.dstDir, err = pick(m.o.TargetImagePath, "target")
	}
	if err == nil && m.srcDir == m.dstDir {
		err = errors.New("--image-path and --target-image-path must differ: the target gets a copy")
	}
	for _, d := range []string{m.srcDir, m.dstDir} {
		if err == nil {
			err = criu.PrepareImageDir(d)
		}
	}
	if err != nil && m.tempBase != "" {
		os.RemoveAll(m.tempBase)
	}
	return err
}

// resetSourceDir empties the source image dir for another attempt, keeping the
// failed attempt's log as dump-failed.log.
func (m *migration) resetSourceDir() error {
	_ = os.Rename(filepath.Join(m.srcDir, "dump.log"), filepath.Join(m.srcDir, "dump-failed.log"))
	for _, d := range []string{m.srcDir, m.dstDir} {
		ents, err := os.ReadDir(d)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if e.Name() != "dump-failed.log" {
				if err := os.RemoveAll(filepath.Join(d, e.Name())); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// dump checkpoints the source under the watchdog; progress on the target side
// (restore and lazy-pages logs) counts too, since a lazy dump waits for it.
func (m *migration) dump(o *libcontainer.CriuOpts) error {
	meta := criu.NewMeta(m.o.ID, m.srcBundle, m.r.CriuVersion())
	meta.TCPEstablished, meta.LazyPages = o.TcpEstablished, o.LazyPages
	if err := criu.WriteMeta(o.ImagesDirectory, meta); err != nil {
		return err
	}
	m.dumpStart = time.Now()
	return m.r.Dump(m.c, "migrate", o, []string{m.srcDir, m.dstDir})
}

// restoreTarget restores the copied images as the target container, detached.
func (m *migration) restoreTarget(lazy bool) error {
	co := m.o.Criu
	co.ImagesDirectory, co.WorkDirectory = m.dstDir, ""
	co.LazyPages, co.LeaveRunning = lazy, false
	co.PageServer, co.StatusFd = libcontainer.CriuPageServerInfo{}, -1
	spec := *m.spec // Restore may adjust it; a second attempt needs the original
	_, err := m.dst.Restore(runtime.RestoreOpts{
		Create: runtime.CreateOpts{ID: m.o.TargetID, Bundle: m.bundle, Spec: &spec},
		Criu:   co,
		Launch: m.o.Launch,
	})
	m.restoredAt = time.Now()
	if err != nil {
		return fmt.Errorf("restore on the target failed: %w", err)
	}
	if c, err := m.dst.Load(m.o.TargetID); err == nil {
		if st, err := c.State(); err == nil {
			m.rep.TargetPid = st.InitProcessPid
		}
	}
	return criu.SecureImageDir(m.dstDir)
}

// destroyTarget removes a target container that must not run (a failed switch).
func (m *migration) destroyTarget() {
	// Under its lock: unlocking a container that no longer exists removes the lock file.
	if lock, err := m.dst.Lock(m.o.TargetID, "migrate"); err == nil {
		defer lock.Unlock()
	}
	c, err := m.dst.Load(m.o.TargetID)
	if err != nil {
		return
	}
	if err := runtime.Destroy(c); err != nil {
		logrus.Errorf("cannot remove the half-migrated target %s from %s: %v; run `mycr --root %s delete --force %s`",
			m.o.TargetID, m.dst.Dir, err, m.dst.Dir, m.o.TargetID)
	}
}

// sourceRunning tells whether the source container is alive and running.
func (m *migration) sourceRunning() bool {
	c, err := m.r.Load(m.o.ID)
	if err != nil {
		return false
	}
	st, err := c.Status()
	return err == nil && st == libcontainer.Running
}

// removeSource drops the source's state once CRIU has killed its processes.
func (m *migration) removeSource() error {
	if err := runtime.RemoveDumped(m.c, m.state.InitProcessPid); err != nil {
		return fmt.Errorf("removing the source container's state failed: %w", err)
	}
	return nil
}

// measure fills the report's timings and CRIU statistics.
func (m *migration) measure() {
	frozenAt, from := m.freeze.stopAndGet()
	if frozenAt.IsZero() {
		frozenAt, from = m.dumpStart, "dump-start"
	}
	m.rep.FrozenMs, m.rep.FrozenFrom = ms(m.restoredAt.Sub(frozenAt)), from
	if m.rep.Mode == Lazy {
		if t, ok := readLazyDumpTimes(filepath.Join(m.srcDir, "dump.log")); ok {
			m.rep.CriuFrozenMs, m.rep.CriuDumpReadyMs, m.rep.CriuFrozenFrom = t.FrozenMs, t.ReadyMs, "dump.log"
		}
	} else if d, err := dumpStats(m.srcDir); err == nil {
		m.rep.CriuFrozenMs, m.rep.CriuFrozenFrom = float64(d.GetFrozenTime())/1000, "stats-dump"
		m.rep.CriuFreezingMs = float64(d.GetFreezingTime()) / 1000
		m.rep.CriuMemdumpMs = float64(d.GetMemdumpTime()) / 1000
		m.rep.PagesWritten, m.rep.PagesLazy = d.GetPagesWritten(), d.GetPagesLazy()
	} else {
		logrus.Debugf("no CRIU dump statistics: %v", err)
	}
	if rs, err := restoreStats(m.dstDir); err == nil {
		m.rep.CriuRestoreMs = float64(rs.GetRestoreTime()) / 1000
	}
}

// finish completes the report and removes the default image dirs.
func (m *migration) finish() {
	m.rep.BytesMoved = m.rep.ImageBytes + m.rep.PageBytes
	m.rep.TotalMs = ms(time.Since(m.start))
	if m.o.KeepImages || m.tempBase == "" {
		m.rep.SourceImages, m.rep.TargetImages = m.srcDir, m.dstDir
		return
	}
	m.removeTemp()
	if m.o.ImagePath != "" {
		m.rep.SourceImages = m.srcDir
	}
	if m.o.TargetImagePath != "" {
		m.rep.TargetImages = m.dstDir
	}
}

func (m *migration) removeTemp() {
	if m.tempBase != "" {
		os.RemoveAll(m.tempBase)
	}
}

// keepDirsOnFailure leaves the image dirs (and CRIU's logs in them) for a look.
func (m *migration) keepDirsOnFailure() {
	if m.tempBase != "" {
		m.notify("images and CRIU logs of the failed migration are kept in %s", m.tempBase)
	}
}

func (m *migration) notify(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if m.o.Notify != nil {
		m.o.Notify(msg)
		return
	}
	logrus.Info(msg)
}

// canceled reports the user's interrupt, if any.
func (m *migration) canceled() error {
	if err := m.o.Ctx.Err(); err != nil {
		return fmt.Errorf("migration interrupted: %w", err)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func firstLineOf(s string) string {
	for i, ch := range s {
		if ch == '\n' {
			return s[:i]
		}
	}
	return s
}
