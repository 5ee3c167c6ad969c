package criu

import (
	"fmt"
	"path/filepath"
	"strconv"
)

// CarriedTmpfs is a tmpfs mount of the container whose files mycr carried
// in a tar of its own (criu/tmpfs) instead of CRIU's tar | gzip: CRIU took
// the mount as external under Key, and a restore mounts a new tmpfs with
// Source and Data, fills it from File and hands it to CRIU under Key.
type CarriedTmpfs struct {
	Mountpoint string `json:"mountpoint"` // inside the container
	Key        string `json:"key"`
	File       string `json:"file"`   // the tar, in the image dir
	Source     string `json:"source"` // the mount's source ("tmpfs", "shm")
	Data       string `json:"data"`   // its superblock options (size=, mode=)
	// Flags are the mount flags (MS_NOSUID, MS_RDONLY, ...) it had.
	Flags uintptr `json:"flags"`
}

// NewCarriedTmpfs names the n-th carried mount of a checkpoint.
func NewCarriedTmpfs(n int, mountpoint, source, data string, flags uintptr) CarriedTmpfs {
	key := "mycr-tmpfs-" + strconv.Itoa(n)
	return CarriedTmpfs{Mountpoint: mountpoint, Key: key, File: key + ".tar", Source: source, Data: data, Flags: flags}
}

// DumpExternal makes a dump take the mount as external under its key.
func (t CarriedTmpfs) DumpExternal() string {
	return fmt.Sprintf("mnt[%s]:%s", t.Mountpoint, t.Key)
}

// RestoreExternal has a restore bind dir where the mount was.
func (t CarriedTmpfs) RestoreExternal(dir string) string {
	return fmt.Sprintf("mnt[%s]:%s", t.Key, dir)
}

// Path is the tar's path in image dir imageDir; the name is checked, for a
// metadata file that came in an archive.
func (t CarriedTmpfs) Path(imageDir string) (string, error) {
	if !filepath.IsLocal(t.File) || filepath.Base(t.File) != t.File {
		return "", fmt.Errorf("carried tmpfs %s: file name %q is not in the image dir", t.Mountpoint, t.File)
	}
	return filepath.Join(imageDir, t.File), nil
}
