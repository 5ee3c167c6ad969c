package archive

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// ReadDeletedFiles reads deleted.files: the JSON list of paths (absolute, in
// the container) that Podman found deleted from the rootfs since the
// container's start. An archive without that member has nothing to delete.
func ReadDeletedFiles(r io.Reader) ([]string, error) {
	var paths []string
	if err := json.NewDecoder(io.LimitReader(r, 16<<20)).Decode(&paths); err != nil {
		return nil, fmt.Errorf("archive's %s is not a JSON list of paths: %w", ArchiveDeleted, err)
	}
	for _, p := range paths {
		if c := filepath.Clean("/" + p); c == "/" || strings.ContainsRune(p, 0) {
			return nil, fmt.Errorf("archive's %s lists %q: refused", ArchiveDeleted, p)
		}
	}
	return paths, nil
}

// RemoveDeletedFiles removes each path from rootfs, resolved inside it (a
// symlink or ".." cannot lead out), as Podman does at restore. Paths already
// gone are fine.
func RemoveDeletedFiles(rootfs string, paths []string) error {
	for _, p := range paths {
		full, err := securejoin.SecureJoin(rootfs, p)
		if err != nil {
			return err
		}
		if full == filepath.Clean(rootfs) {
			continue
		}
		if err := os.RemoveAll(full); err != nil {
			return fmt.Errorf("remove %s (in the archive's %s): %w", p, ArchiveDeleted, err)
		}
	}
	return nil
}
