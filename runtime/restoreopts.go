package runtime

import (
	"sync"
	"time"

	"github.com/opencontainers/runc/libcontainer"

	"github.com/mycr/mycr/criu"
)

// RestoreOpts describe a restore: which images, into which container, with what stdio.
type RestoreOpts struct {
	Create    CreateOpts // ID, and Bundle ("" = current dir, else the checkpoint's bundle)
	Criu      libcontainer.CriuOpts
	Launch    LaunchOpts
	Import    string // archive to restore from ("-" = stdin) instead of an image dir
	ImportKey []byte // verify Import's signature with it (criu.ArchiveKey); nil: none
	// ImportUnverified accepts a Podman or Kubernetes archive (no manifest).
	ImportUnverified bool
	// Checkpoint is the image dir when the caller opened it already (--all);
	// nil: Criu.ImagesDirectory (or Import) is opened.
	Checkpoint  *Checkpoint
	RemapMounts map[string]string // bind mount destination -> new host source
	// Lazy: restore with lazy pages (lazyrestore.go); its Runs report each restore.
	Lazy *LazyOpts
	// BeforeCriu, if set, runs once the container is created, just before CRIU
	// restores it; an error fails the restore. A migration waits there for the
	// lazy-pages daemon it started alongside the restore's preparation.
	BeforeCriu func() error
}

// LazyOpts asks for a lazy restore (restore --lazy): the container runs as soon
// as its non-memory state is back, and `criu lazy-pages` serves its memory
// from the images on demand (userfaultfd) while filling the rest in the
// background. One LazyOpts may serve several restores (--all).
type LazyOpts struct {
	NoFallback bool // refuse where lazy pages do not work, instead of restoring eagerly
	// RecordHot: once every page is in, the pages the container faulted on
	// load before it runs in later restores of the same images (lazyhot.go).
	RecordHot bool
	mu        sync.Mutex
	runs      []*LazyRun
}

// Runs are the restores made with these options, in order.
func (l *LazyOpts) Runs() []*LazyRun {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*LazyRun(nil), l.runs...)
}

// LazyRun is one container's lazy restore.
type LazyRun struct {
	ID             string
	Lazy           bool   // false: restored eagerly (FallbackReason says why)
	FallbackReason string // why lazy pages could not be used here
	Start          time.Time
	RunningAt      time.Time // the restore completed: the container runs
	LastPageAt     time.Time // the daemon had every page in and exited
	HeldUffds      int       // userfaultfds mycr held while the daemon ran
	LogPath        string    // the daemon's log
	HotPages       int       // RecordHot: pages now loaded before the container runs
	HotErr         error     // RecordHot: why they could not be recorded
	recordHot      bool
	daemon         *criu.LazyPages
	starting       chan error // startDaemon's start, until started took it
	startErr       error
	hold           *criu.UffdHold
	cgroups        map[string]string
	done           chan struct{}
	mu             sync.Mutex
	cleanup        func() // run when watch ends (under mu, with finished)
	finished       bool
	aborted        bool
	err            error
}

// Wait waits until every page is in (nil), or the daemon failed and the
// container was killed (the error says why). An eager run returns at once.
func (l *LazyRun) Wait() error {
	if l.done == nil {
		return nil
	}
	<-l.done
	return l.err
}
