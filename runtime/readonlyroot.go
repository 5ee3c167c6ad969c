package runtime

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/sirupsen/logrus"

	"github.com/mycr/mycr/criu/image"
)

// prepareReadOnlyRoot gives CRIU the directory it needs to restore a read-only
// root: CRIU pivots into the restored root through its "tmp" and, where there
// is none, makes a temporary directory there, which a read-only root refuses
// ("Can't create a temporary directory: Read-only file system"). A rootfs
// without /tmp (the README's busybox) could then never be restored, whatever
// config.json says later. The directory is made on the host side, where the
// rootfs is writable, and kept, as libcontainer keeps the mount points it
// makes in a rootfs: removing it would race with another restore of the same
// rootfs.
func prepareReadOnlyRoot(cp *Checkpoint, rootfs string) {
	ro, err := image.RootReadOnly(cp.Dir)
	if err != nil || !ro {
		return // an unreadable image is CRIU's to report
	}
	tmp := filepath.Join(rootfs, "tmp")
	if _, err := os.Lstat(tmp); !errors.Is(err, os.ErrNotExist) {
		return // there already (a non-directory /tmp is the hint's to explain)
	}
	if err := os.Mkdir(tmp, 0o755); err != nil { // as libcontainer makes mount points
		logrus.Warnf("the checkpoint has a read-only root and CRIU needs a directory /tmp in it to restore it; creating %s failed: %v", tmp, err)
		return
	}
	logrus.Debugf("created %s: CRIU needs it to restore the checkpoint's read-only root", tmp)
}
