package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/runc/libcontainer"
)

// checkOutsideState refuses image and work paths inside the state root: CRIU
// would write into a container's state dir (which delete removes: a checkpoint
// of a container into its own state dir loses container and images together)
// or among mycr's records. Hidden dirs other than those records are mycr's own
// scratch dirs (tempDir: export, import, migrate) and are allowed.
func (r *Root) checkOutsideState(o *libcontainer.CriuOpts) error {
	root, err := filepath.EvalSymlinks(r.Dir)
	if err != nil {
		root = r.Dir
	}
	for _, p := range []struct{ what, dir string }{{"image path", o.ImagesDirectory}, {"work path", o.WorkDirectory}} {
		if p.dir == "" {
			continue
		}
		real := resolveExisting(p.dir)
		rel, err := filepath.Rel(root, real)
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			continue
		}
		first, _, _ := strings.Cut(rel, "/")
		if strings.HasPrefix(first, ".") && first != "." && first != ".locks" && first != ".intent" {
			continue // a hidden scratch dir (export, import, migrate)
		}
		return fmt.Errorf("%s %s is inside the state root %s (--root): pick a directory outside it", p.what, p.dir, r.Dir)
	}
	return nil
}

// resolveExisting resolves the symlinks of the longest existing prefix of p (the
// rest does not exist yet, so it cannot be a link).
func resolveExisting(p string) string {
	p = filepath.Clean(p)
	rest := ""
	for {
		real, err := filepath.EvalSymlinks(p)
		if err == nil {
			return filepath.Join(real, rest)
		}
		if !errors.Is(err, os.ErrNotExist) {
			return filepath.Join(p, rest)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return filepath.Join(p, rest)
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}
