package runtime

import (
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// The mounts of a default busybox container (runc's layout on cgroup v1),
// plus the cases that must stay CRIU's: shared, overmounted, a tmpfs bound
// twice, a read-only superblock, masked dirs.
const containerMountinfo = `69 47 254:0 /b/rootfs / ro,relatime - ext4 /dev/vda rw
72 69 0:45 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755
73 72 0:46 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts rw,gid=5,mode=620,ptmxmode=666
74 72 0:47 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k
77 76 0:49 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,mode=755
52 71 0:50 / /proc/acpi ro,relatime - tmpfs tmpfs ro
54 71 0:45 /null /proc/keys rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755
90 69 0:60 / /shared rw shared:7 - tmpfs tmpfs rw
91 69 0:61 / /over rw - tmpfs tmpfs rw
92 69 0:62 / /over rw - tmpfs tmpfs rw
93 69 0:63 / /twice rw - tmpfs tmpfs rw
94 69 0:63 / /twice2 rw - tmpfs tmpfs rw
95 69 0:64 / /rosb ro - tmpfs tmpfs ro
96 69 0:65 / /romount ro,nosuid - tmpfs tmpfs rw,size=4k
`

func TestSelectTmpfs(t *testing.T) {
	mounts, err := mountinfo.GetMountsFromReader(strings.NewReader(containerMountinfo), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := selectTmpfs(mounts, []string{"/proc/acpi"})
	want := map[string]struct {
		data  string
		flags uintptr
	}{
		"/dev":           {"size=65536k,mode=755", unix.MS_NOSUID},
		"/dev/shm":       {"size=65536k", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RELATIME},
		"/sys/fs/cgroup": {"mode=755", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RELATIME},
		"/romount":       {"size=4k", unix.MS_RDONLY | unix.MS_NOSUID},
	}
	if len(got) != len(want) {
		t.Errorf("carried %+v, want %d mounts", got, len(want))
	}
	for i, c := range got {
		w, ok := want[c.Mountpoint]
		if !ok || c.Data != w.data || c.Flags != w.flags {
			t.Errorf("carried %+v, want %+v", c, w)
		}
		if c.Key != "mycr-tmpfs-"+string(rune('0'+i)) || c.File != c.Key+".tar" {
			t.Errorf("mount %d named %q / %q", i, c.Key, c.File)
		}
	}
}
