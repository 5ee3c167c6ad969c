package image

import "github.com/checkpoint-restore/go-criu/v7/crit/images/cgroup"

// CgroupHierarchies lists the controller names of each cgroup hierarchy the
// images in dir were dumped with (host.Env.YardFits takes them), or nil when
// cgroup.img cannot be read.
func CgroupHierarchies(dir string) [][]string {
	msgs, err := newImages(dir).all("cgroup.img", &cgroup.CgroupEntry{})
	if err != nil || len(msgs) != 1 {
		return nil
	}
	ce, ok := msgs[0].(*cgroup.CgroupEntry)
	if !ok {
		return nil
	}
	out := [][]string{}
	for _, ctl := range ce.GetControllers() {
		out = append(out, ctl.GetCnames())
	}
	return out
}
