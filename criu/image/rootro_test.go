package image

import (
	"path/filepath"
	"testing"

	"github.com/checkpoint-restore/go-criu/v7/crit/images/mnt"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"
)

func TestRootReadOnly(t *testing.T) {
	u32, str := proto.Uint32, proto.String
	root := func(flags, sbFlags uint32) *mnt.MntEntry {
		return &mnt.MntEntry{Fstype: u32(uint32(mnt.Fstype_UNSUPPORTED)), MntId: u32(1), Mountpoint: str("/"),
			Source: str("/dev/vda"), Root: str("/srv/rootfs"), Flags: u32(flags), SbFlags: u32(sbFlags)}
	}
	roProc := &mnt.MntEntry{Fstype: u32(uint32(mnt.Fstype_PROC)), MntId: u32(2), Mountpoint: str("/proc/sys"),
		Source: str("proc"), Root: str("/sys"), Flags: u32(unix.MS_RDONLY)}
	for _, tc := range []struct {
		name string
		ents []proto.Message
		want bool
	}{
		{"read-only bind of the rootfs", []proto.Message{root(unix.MS_RDONLY|unix.MS_BIND, 0), roProc}, true},
		{"read-only superblock", []proto.Message{root(0, unix.MS_RDONLY)}, true},
		{"writable root, read-only submount", []proto.Message{root(unix.MS_BIND, 0), roProc}, false},
		{"no mount namespace dumped", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.ents != nil {
				writeImage(t, filepath.Join(dir, "mountpoints-13.img"), "MNTS", tc.ents...)
			}
			got, err := RootReadOnly(dir)
			if err != nil || got != tc.want {
				t.Fatalf("RootReadOnly = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
