package migrate

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/mycr/mycr/criu"
	"github.com/mycr/mycr/runtime"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
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
	// lazy pages and the page server are set by Run.
	Criu   libcontainer.CriuOpts
	Launch runtime.LaunchOpts // the target's stdio (detached), console socket, pid file
	// Ctx cancels a migration that has not switched over yet (SIGINT/SIGTERM).
	Ctx context.Context
	// Notify receives progress messages meant for the user (nil: logged at info level).
	Notify func(string)
}

// migration is one call of Run.
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
	psAddr     string                    // the lazy dump's page server (private, loopback)
	lateFreeze bool                      // CRIU's pre-dump action script freezes the source (latefreeze.go)
	extFds     []criu.ExternalFd         // the source's descriptors outside it (stdio on host files)
	relay      atomic.Pointer[pageRelay] // the lazy dump's page relay, once there: its bytes are the dump's progress
}

// errSwitchedOver marks an error after which the target, not the source, runs.
var errSwitchedOver = errors.New("the container runs on the target")

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

func firstLineOf(s string) string {
	for i, ch := range s {
		if ch == '\n' {
			return s[:i]
		}
	}
	return s
}
