package runtime

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/opencontainers/runc/libcontainer"
)

// resolveWorkPath follows symlinks in an existing --work-path. Daemons hand over
// symlinked work dirs: containerd's shim restores with --work-path <bundle>/work,
// a symlink to its per-task state dir. The work dir holds only CRIU's logs, so the
// caller's choice of where it points is taken as is (image dirs still refuse symlinks).
func resolveWorkPath(o *libcontainer.CriuOpts) error {
	if o.WorkDirectory == "" {
		return nil
	}
	abs, err := filepath.Abs(o.WorkDirectory)
	if err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		o.WorkDirectory = abs
		return nil
	case err != nil:
		return err
	}
	o.WorkDirectory = real
	return nil
}
