package runtime

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/mycr/mycr/criu"
)

// Checkpoint is a checkpoint's image directory with mycr's record of it
// (criu.MetaName), read once: restore and its checks (compat, netns, masked
// dirs, read-only root), import, export and --all take this value instead of
// reading the record again.
type Checkpoint struct {
	Dir string // absolute
	// Meta is mycr's record; nil for images without one (runc's, or *.img
	// files copied alone): restore then does what CRIU's images say.
	Meta *criu.Meta
	// MetaErr is why Meta is nil: os.ErrNotExist when there is no record,
	// else a record this mycr cannot read (corrupt, newer format).
	MetaErr error
}

// OpenCheckpoint reads dir's record. It changes nothing, and does not check
// that dir holds images (checkImageDir does, for a restore).
func OpenCheckpoint(dir string) *Checkpoint {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	m, err := criu.ReadMeta(dir)
	return &Checkpoint{Dir: dir, Meta: m, MetaErr: err}
}

// unreadableMeta is the error of a record that exists but cannot be read
// (nil when it was read, or when there is none).
func (cp *Checkpoint) unreadableMeta() error {
	if cp.Meta != nil || errors.Is(cp.MetaErr, os.ErrNotExist) {
		return nil
	}
	return cp.MetaErr
}
