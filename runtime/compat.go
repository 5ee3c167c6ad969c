package runtime

import (
	"fmt"
	"os"
	goruntime "runtime"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mycr/mycr/criu"
	"github.com/mycr/mycr/criu/host"
	"github.com/mycr/mycr/criu/image"
)

// RemapMounts points bind mounts at other host paths: dest -> new source (for a
// restore on a host where volumes live elsewhere).
func RemapMounts(s *specs.Spec, remap map[string]string) error {
	for dest, src := range remap {
		found := false
		for i := range s.Mounts {
			if s.Mounts[i].Destination == dest {
				s.Mounts[i].Source, found = src, true
			}
		}
		if !found {
			return fmt.Errorf("--remap-mount %s=%s: the container has no mount at %s", dest, src, dest)
		}
	}
	return nil
}

// checkRestorable refuses, before anything is created, a checkpoint this host
// cannot restore: another architecture, an older CRIU than the one that wrote
// the images, a host feature the images need that is missing here (Meta.Needs),
// bind-mount sources that do not exist here, or pages images shorter than
// their pagemaps (on which CRIU would loop).
func checkRestorable(cp *Checkpoint, s *specs.Spec, criuVersion int) error {
	if err := image.CheckPages(cp.Dir); err != nil {
		return err
	}
	if err := cp.unreadableMeta(); err != nil {
		return err
	}
	if err := checkTmpfsFiles(cp); err != nil { // tmpfs.go
		return err
	}
	if cp.Meta != nil {
		// "": the criu in PATH, which criu.Prepare made the one mycr runs.
		if err := checkImageHost(cp.Meta, criuVersion, func(f string) (bool, string) { return host.Has("", f) }); err != nil {
			return err
		}
	}
	return checkBindSources(s)
}

// checkImageHost compares what the metadata says the checkpoint needs with
// this host; has answers whether a host feature (a criu.Need*) is present.
func checkImageHost(m *criu.Meta, criuVersion int, has func(feature string) (bool, string)) error {
	from := fmt.Sprintf("checkpoint of %s taken with CRIU %s on %s, kernel %s", m.ID, host.FormatVersion(m.CriuVersion), m.Arch, m.Kernel)
	if m.Arch != "" && m.Arch != goruntime.GOARCH {
		return fmt.Errorf("the checkpoint was taken on %s, this host is %s: it cannot be restored here (%s)", m.Arch, goruntime.GOARCH, from)
	}
	if criuVersion != 0 && m.CriuVersion > criuVersion {
		return fmt.Errorf("the images were written by CRIU %s, this host has CRIU %s: install CRIU >= %s (make deps)",
			host.FormatVersion(m.CriuVersion), host.FormatVersion(criuVersion), host.FormatVersion(m.CriuVersion))
	}
	var missing []string
	for _, n := range m.Needs() {
		if ok, detail := has(n.Feature); !ok {
			missing = append(missing, fmt.Sprintf("%s, because %s; here: %s; %s", n.Feature, n.Why, detail, n.Fix))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("this host lacks what the checkpoint needs (%s): %s", from, strings.Join(missing, "; "))
	}
	return nil
}

// checkBindSources refuses bind mounts whose host source does not exist.
func checkBindSources(s *specs.Spec) error {
	var missing []string
	for _, m := range s.Mounts {
		if !isBind(m) {
			continue
		}
		if _, err := os.Stat(m.Source); err != nil {
			missing = append(missing, fmt.Sprintf("%s (for %s)", m.Source, m.Destination))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("bind mount sources missing on this host: %s; create them or point the mounts elsewhere with --remap-mount DEST=SRC",
			strings.Join(missing, ", "))
	}
	return nil
}

func isBind(m specs.Mount) bool {
	if m.Type == "bind" {
		return true
	}
	for _, o := range m.Options {
		if o == "bind" || o == "rbind" {
			return true
		}
	}
	return false
}

// retargetCgroup gives a container restored under a new ID its own cgroup when
// the spec names the old one: containerd and ctr keep the checkpointed spec, whose
// cgroupsPath ends in the old ID, and the old container may still be running.
func retargetCgroup(s *specs.Spec, cp *Checkpoint, newID string) {
	m := cp.Meta
	if m == nil || m.ID == "" || m.ID == newID || s.Linux == nil {
		return
	}
	p := s.Linux.CgroupsPath
	if strings.HasSuffix(p, "/"+m.ID) || strings.HasSuffix(p, ":"+m.ID) || p == m.ID {
		s.Linux.CgroupsPath = strings.TrimSuffix(p, m.ID) + newID
	}
}

// CheckImageHost tells whether this host can restore a checkpoint described
// by m (architecture, CRIU version, the host features it needs): the check a
// migration's target runs before the source freezes anything.
func (r *Root) CheckImageHost(m *criu.Meta) error {
	return checkImageHost(m, r.criuVersion(), func(f string) (bool, string) { return host.Has("", f) })
}
