package runtime

import (
	"os"
	"testing"

	"github.com/moby/sys/mountinfo"
)

// maskedTmpfsLeftAlone leaves a masked dir out of the dump only while it is
// what libcontainer made of it: one read-only tmpfs, nothing mounted below,
// empty (looked at through /proc/<pid>/root: this process's own root here).
func TestMaskedTmpfsLeftAlone(t *testing.T) {
	empty := t.TempDir() // an empty dir, as seen through /proc/self/root
	full := t.TempDir()
	if err := os.WriteFile(full+"/f", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ro := func(mp string) *mountinfo.Info {
		return &mountinfo.Info{Mountpoint: mp, FSType: "tmpfs", Root: "/", Options: "ro,relatime"}
	}
	rw := &mountinfo.Info{Mountpoint: empty, FSType: "tmpfs", Root: "/", Options: "rw,relatime"}
	below := &mountinfo.Info{Mountpoint: empty + "/sub", FSType: "tmpfs", Root: "/", Options: "ro"}
	bind := &mountinfo.Info{Mountpoint: empty, FSType: "ext4", Root: "/x", Options: "ro"}
	pid := os.Getpid()
	for _, c := range []struct {
		name   string
		mounts []*mountinfo.Info
		path   string
		want   bool
	}{
		{"ro empty tmpfs", []*mountinfo.Info{ro(empty)}, empty, true},
		{"not a mount point", []*mountinfo.Info{ro("/elsewhere")}, empty, false},
		{"read-write", []*mountinfo.Info{rw}, empty, false},
		{"a mount below", []*mountinfo.Info{ro(empty), below}, empty, false},
		{"two stacked", []*mountinfo.Info{ro(empty), ro(empty)}, empty, false},
		{"a bind mount, not tmpfs", []*mountinfo.Info{bind}, empty, false},
		{"not empty", []*mountinfo.Info{ro(full)}, full, false},
	} {
		if got := maskedTmpfsLeftAlone(c.mounts, c.path, pid); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
