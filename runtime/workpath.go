package runtime

import (
	"errors"
	"fmt"
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

// prepareWorkDir resolves --work-path and creates it 0700 if missing. An existing
// one keeps its mode: it is often a daemon's own state dir (Podman's userdata,
// containerd's task dir), and CRIU only writes logs and stats there.
func prepareWorkDir(o *libcontainer.CriuOpts) error {
	if err := resolveWorkPath(o); err != nil || o.WorkDirectory == "" {
		return err
	}
	st, err := os.Stat(o.WorkDirectory)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return os.MkdirAll(o.WorkDirectory, 0o700)
	case err != nil:
		return err
	case !st.IsDir():
		return fmt.Errorf("work path %s is not a directory", o.WorkDirectory)
	}
	return nil
}

// absImagePath makes --image-path absolute; it is required.
func absImagePath(o *libcontainer.CriuOpts) error {
	if o.ImagesDirectory == "" {
		return errors.New("no image path: pass --image-path DIR")
	}
	abs, err := filepath.Abs(o.ImagesDirectory)
	o.ImagesDirectory = abs
	return err
}

// logDir is where CRIU writes its log: the work dir if given, else the image dir.
func logDir(o *libcontainer.CriuOpts) string {
	if o.WorkDirectory != "" {
		return o.WorkDirectory
	}
	return o.ImagesDirectory
}

func progressDirs(o *libcontainer.CriuOpts) []string {
	dirs := []string{o.ImagesDirectory}
	if o.WorkDirectory != "" {
		dirs = append(dirs, o.WorkDirectory)
	}
	return dirs
}
