package image

import (
	"path/filepath"
	"sort"
	"strings"

	"github.com/checkpoint-restore/go-criu/v7/crit/images/mnt"
)

// Mount is one mount of the dumped mount namespaces.
type Mount struct {
	Mountpoint string `json:"mountpoint"`
	FsType     string `json:"fstype"`
	Source     string `json:"source,omitempty"`
	Root       string `json:"root"`
	External   bool   `json:"external,omitempty"` // a bind mount from the host (volumes, /etc/hosts, ...)
}

// mounts lists the dumped mount namespaces' mounts (none for a dump of
// processes that share the host's mount namespace).
func mounts(im *images) ([]Mount, error) {
	files, err := filepath.Glob(filepath.Join(im.dir, "mountpoints-*.img"))
	if err != nil {
		return nil, err
	}
	var out []Mount
	for _, path := range files {
		entries, err := decodeAll(im, filepath.Base(path), &mnt.MntEntry{})
		if err != nil {
			return nil, err
		}
		for _, m := range entries {
			fstype := m.GetFsname() // set for the types CRIU handles generically
			if fstype == "" {
				fstype = strings.ToLower(mnt.Fstype(m.GetFstype()).String())
			}
			if fstype == "unsupported" { // CRIU's name for "bind mount it back as it was"
				fstype = "-"
			}
			out = append(out, Mount{Mountpoint: m.GetMountpoint(), FsType: fstype, Source: m.GetSource(),
				Root: m.GetRoot(), External: m.GetExtKey() != "" || m.GetExtMount()})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Mountpoint < out[j].Mountpoint })
	return out, nil
}
