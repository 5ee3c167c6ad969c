package host

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/moby/sys/mountinfo"
)

// The yard found on this host holds every hierarchy of /proc/self/cgroup,
// each mounted at its root in the dir CRIU looks for.
func TestHostCgroupYardHoldsEveryHierarchy(t *testing.T) {
	yard := hostCgroupYard()
	if yard == "" {
		t.Skip("no cgroup yard on this host (cgroup v2 only or another layout)")
	}
	names, err := hierarchyNames("/proc/self/cgroup")
	if err != nil || len(names) == 0 {
		t.Fatal(names, err)
	}
	for _, h := range names {
		dir := filepath.Join(yard, h.dir)
		ok, err := mountinfo.Mounted(dir)
		if err != nil || !ok {
			t.Errorf("%s is not a mount point (%v)", dir, err)
		}
	}
}

func TestHierarchyNamesAsCriuNamesThem(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cgroup")
	os.WriteFile(p, []byte("9:name=systemd:/\n4:cpu,cpuacct:/a\n0::/b\n"), 0o600)
	got, err := hierarchyNames(p)
	if err != nil || len(got) != 3 || got[0].dir != "systemd" || got[1].dir != "cpu,cpuacct" ||
		len(got[1].controllers) != 2 || got[2].dir != "unified" || got[2].controllers != nil {
		t.Fatalf("%+v %v", got, err)
	}
}

// A cgroup mount with a bind mount over it (or over a dir above it) is hidden:
// its path shows the bound directory, not the hierarchy's root.
func TestHiddenMounts(t *testing.T) {
	cg := &mountinfo.Info{Mountpoint: "/sys/fs/cgroup/unified", FSType: "cgroup2", Root: "/"}
	for _, tc := range []struct {
		over string
		want bool
	}{
		{"/sys/fs/cgroup/unified", true},
		{"/sys/fs/cgroup", true},
		{"/", true},
		{"/sys/fs/cgroup/unified/x", false},
		{"/sys/fs/cgroup/uni", false},
		{"/proc", false},
	} {
		if got := hidden(cg, []*mountinfo.Info{{Mountpoint: tc.over}}); got != tc.want {
			t.Errorf("mount on %s: hidden %v, want %v", tc.over, got, tc.want)
		}
	}
	if hidden(cg, nil) {
		t.Error("no later mount: not hidden")
	}
}
