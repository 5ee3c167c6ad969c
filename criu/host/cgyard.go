package host

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/sys/mountinfo"
)

// hostCgroupYard returns the directory under which this host mounts every
// cgroup hierarchy at its root, each in the dir CRIU would give it in its own
// yard ("cpu,cpuacct", "systemd" for name=systemd, "unified" for cgroup2), or
// "" if there is no such directory (cgroup v2 only, other layouts). Given as
// CRIU's --cgroup-yard, CRIU reads the dumped cgroups there instead of
// mounting every hierarchy in a temporary yard and unmounting it again
// (~12 ms of an idle container's dump on a hybrid host with 10 hierarchies).
//
// A hierarchy whose mount is hidden by a later mount (a bind of one of its cgroups
// over it, as a test or a nested runtime makes) has no usable dir there: CRIU
// would read the bound cgroup's subtree as the hierarchy's root. Then there is
// no host yard and CRIU makes its own.
func hostCgroupYard() string {
	all, err := mountinfo.GetMounts(nil)
	if err != nil {
		return ""
	}
	var mounts []*mountinfo.Info
	for i, m := range all {
		if (m.FSType == "cgroup" || m.FSType == "cgroup2") && !hidden(m, all[i+1:]) {
			mounts = append(mounts, m)
		}
	}
	if len(mounts) == 0 {
		return ""
	}
	names, err := hierarchyNames("/proc/self/cgroup")
	if err != nil || len(names) == 0 {
		return ""
	}
	yard := ""
	for _, n := range names {
		m := hierarchyRootMount(mounts, n)
		if m == nil {
			return ""
		}
		if dir := filepath.Dir(m.Mountpoint); yard == "" {
			yard = dir
		} else if dir != yard {
			return ""
		}
	}
	return yard
}

// hierarchy is one line of /proc/self/cgroup as CRIU names it in a yard.
type hierarchy struct {
	dir         string   // yard dir name
	controllers []string // v1 controllers and name=X; none for cgroup2
}

func hierarchyNames(path string) ([]hierarchy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []hierarchy
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch ctl := parts[1]; {
		case ctl == "":
			out = append(out, hierarchy{dir: "unified"})
		default:
			cs := strings.Split(ctl, ",")
			out = append(out, hierarchy{dir: yardDir(cs), controllers: cs})
		}
	}
	return out, sc.Err()
}

// yardDir is the dir CRIU gives a hierarchy in a yard (ctrl_dir_and_opt).
func yardDir(cnames []string) string {
	dirs := make([]string, len(cnames))
	for i, n := range cnames {
		if dirs[i] = strings.TrimPrefix(n, "name="); dirs[i] == "" {
			dirs[i] = "unified"
		}
	}
	return strings.Join(dirs, ",")
}

// hierarchyRootMount finds the mount of h's whole hierarchy at <dir>/<h.dir>.
func hierarchyRootMount(mounts []*mountinfo.Info, h hierarchy) *mountinfo.Info {
	for _, m := range mounts {
		if m.Root != "/" || filepath.Base(m.Mountpoint) != h.dir {
			continue
		}
		if len(h.controllers) == 0 {
			if m.FSType == "cgroup2" {
				return m
			}
			continue
		}
		opts := strings.Split(m.VFSOptions, ",")
		if m.FSType == "cgroup" && !slices.ContainsFunc(h.controllers, func(c string) bool { return !slices.Contains(opts, c) }) {
			return m
		}
	}
	return nil
}

// hidden tells whether one of the mounts made after m (later in mountinfo) sits on
// m's mount point or on a dir above it, so that the path no longer shows m.
func hidden(m *mountinfo.Info, later []*mountinfo.Info) bool {
	for _, o := range later {
		if o.Mountpoint == m.Mountpoint || o.Mountpoint == "/" ||
			strings.HasPrefix(m.Mountpoint, o.Mountpoint+"/") {
			return true
		}
	}
	return false
}
