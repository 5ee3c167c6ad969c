package archive

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// OCI layer whiteouts, as containerd's rootfs-diff.tar (its rw layer) marks
// what the container deleted: ".wh.NAME" removes NAME from the directory, the
// opaque marker ".wh..wh..opq" removes what the image had in it.
const (
	whiteoutPrefix = ".wh."
	opaqueWhiteout = ".wh..wh..opq"
)

// checkWhiteout refuses a whiteout that names no file of its directory.
func checkWhiteout(base string) error {
	victim, ok := strings.CutPrefix(base, whiteoutPrefix)
	if !ok || base == opaqueWhiteout {
		return nil
	}
	if victim == "" || victim == "." || victim == ".." {
		return errors.New("whiteout names no file")
	}
	return nil
}

// applyWhiteout applies the whiteout base in directory parent (resolved inside
// the rootfs) and says whether base was one. The opaque marker keeps the
// entries this diff wrote (written), whatever their order in the tar.
func applyWhiteout(parent, base string, written map[string]bool) (bool, error) {
	victim, ok := strings.CutPrefix(base, whiteoutPrefix)
	if !ok {
		return false, nil
	}
	if base != opaqueWhiteout {
		return true, os.RemoveAll(filepath.Join(parent, victim))
	}
	ents, err := os.ReadDir(parent)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return true, err
	}
	for _, e := range ents {
		if p := filepath.Join(parent, e.Name()); !written[p] {
			if err := os.RemoveAll(p); err != nil {
				return true, fmt.Errorf("opaque directory: %w", err)
			}
		}
	}
	return true, nil
}
