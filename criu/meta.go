package criu

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"time"

	"golang.org/x/sys/unix"
)

// MetaName is mycr's record, inside an image directory, of where a checkpoint
// came from: restore finds the bundle there, inspect and archives show it.
const MetaName = "mycr-checkpoint.json"

// MetaFormat is the newest image directory layout this mycr reads. A
// checkpoint is written with the oldest format that describes it (NewMeta
// starts at 1), so earlier mycr keep restoring what they can.
const MetaFormat = MetaFormatTmpfs

// MetaFormatFirst is the format of a checkpoint that needs nothing newer.
const MetaFormatFirst = 1

// MetaFormatTmpfs: some tmpfs mounts are carried outside CRIU (Meta.Tmpfs);
// a mycr that does not know them could not restore the images.
const MetaFormatTmpfs = 2

// RuntimeVersion names the runtime in metadata ("mycr 0.1.0"); set by the CLI.
var RuntimeVersion = "mycr"

// Meta describes a checkpoint image directory.
type Meta struct {
	Format         int       `json:"format"`
	ID             string    `json:"id"`
	Bundle         string    `json:"bundle"`
	Created        time.Time `json:"created"`
	Runtime        string    `json:"runtime"`
	CriuVersion    int       `json:"criuVersion"`
	Kernel         string    `json:"kernel"`
	Arch           string    `json:"arch"`
	LeaveRunning   bool      `json:"leaveRunning,omitempty"`
	TCPEstablished bool      `json:"tcpEstablished,omitempty"`
	// LazyPages: the memory was left on a page server (post-copy migration),
	// so a restore needs userfaultfd (Needs).
	LazyPages bool `json:"lazyPages,omitempty"`
	// Netns says how the container's own network namespace was checkpointed
	// (Netns* values); "" in images of earlier mycr, of runc, or of a container
	// without its own netns: restore then does what CRIU's images say.
	Netns string `json:"netns,omitempty"`
	// MaskedDirs are the masking tmpfs mounts CRIU left out (MaskedKey): a
	// restore must map the key, which mycr does and other runtimes do not.
	MaskedDirs []string `json:"maskedDirs,omitempty"`
	// Paused: the container was paused (frozen) when checkpointed; restore
	// --all brings it back paused.
	Paused bool `json:"paused,omitempty"`
	// ExternalFds are descriptors that pointed outside the container (stdio
	// on a host file, /dev/null or terminal): CRIU dumped them as external
	// files, and a restore hands CRIU new files under their keys.
	ExternalFds []ExternalFd `json:"externalFds,omitempty"`
	// Tmpfs are tmpfs mounts whose files mycr carried itself (CarriedTmpfs).
	Tmpfs []CarriedTmpfs `json:"tmpfs,omitempty"`
}

// ExternalFd is one open file outside the container, as CRIU's external key.
type ExternalFd struct {
	Key  string `json:"key"`  // file[mnt_id:inode] or tty[rdev:dev], hex
	Path string `json:"path"` // what it pointed at, for messages
	Pid  int    `json:"pid"`  // a process that held it (host pid at checkpoint)
	Fd   int    `json:"fd"`   // its descriptor number there (0-2: stdio)
	// Flags and Pos let a restore reopen a file held outside stdio.
	Flags int   `json:"flags"`
	Pos   int64 `json:"pos"`
	// Internal: the container's own /dev/null as stdio (Key "dev/null", the
	// path CRIU knows it by): not external at dump, replaced at restore.
	Internal bool `json:"internal,omitempty"`
}

// How the network namespace went into the images (Meta.Netns).
const (
	// NetnsDumped: CRIU saved the netns (links, addresses, routes, rules, firewall).
	NetnsDumped = "dumped"
	// NetnsEmptyLoUp: the netns held only loopback, up, with the kernel's
	// addresses and routes; CRIU skipped it (--empty-ns network) and a restore
	// brings lo up in the new netns before CRIU restores sockets.
	NetnsEmptyLoUp = "empty-lo-up"
	// NetnsEmpty: the user asked for --empty-ns network; restored as CRIU does it.
	NetnsEmpty = "empty"
)

// NewMeta fills in the host facts of a checkpoint taken now.
func NewMeta(id, bundle string, criuVersion int) *Meta {
	m := &Meta{Format: MetaFormatFirst, ID: id, Bundle: bundle, Created: time.Now().UTC(),
		Runtime: RuntimeVersion, CriuVersion: criuVersion, Arch: goruntime.GOARCH}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	return m
}

// WriteMeta stores m in dir, 0600 like the images.
func WriteMeta(dir string, m *Meta) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, MetaName), data, 0o600)
}

// ReadMeta reads dir's record; os.ErrNotExist if the images were not made by mycr.
func ReadMeta(dir string) (*Meta, error) {
	f, err := os.Open(filepath.Join(dir, MetaName))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var m Meta
	if err := json.NewDecoder(io.LimitReader(f, 1<<20)).Decode(&m); err != nil {
		return nil, fmt.Errorf("%s is corrupt: %w", filepath.Join(dir, MetaName), err)
	}
	if m.Format > MetaFormat {
		return nil, fmt.Errorf("%s has format %d, newer than this mycr understands (%d): upgrade mycr", filepath.Join(dir, MetaName), m.Format, MetaFormat)
	}
	if m.Format == 0 {
		return nil, errors.New(filepath.Join(dir, MetaName) + " has no format version: not written by mycr")
	}
	return &m, nil
}
