package archive

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mycr/mycr/criu"
)

const metaFile = criu.MetaName

// Archives made by other tools: Podman's `container checkpoint --export` and
// Kubernetes' checkpoints (kubelet's checkpoint API, `crictl checkpoint
// --export`, written by CRI-O or containerd). They share mycr's layout
// (checkpoint/ with CRIU's images, config.dump, spec.dump, rootfs-diff.tar) but
// carry no manifest: no checksums, no signature. Nothing proves such an archive
// was not corrupted or altered, so restoring one takes an explicit
// ExtractOptions.Unverified.

// foreign checks that what an archive without a manifest unpacked into dir has
// the layout of a Podman or Kubernetes checkpoint archive, and returns its
// member list with Foreign naming who made it. Without unverified it is an
// error saying so.
func foreign(dir string, got map[string]ManifestMember, unverified bool) (*Manifest, error) {
	hasImages := false
	for name := range got {
		if strings.HasPrefix(name, ArchiveImagesDir+"/") {
			hasImages = true
		}
	}
	_, hasConfig := got[ArchiveConfigDump]
	_, hasSpec := got[ArchiveSpecDump]
	if !hasImages || !hasConfig || !hasSpec {
		return nil, fmt.Errorf("archive has no %s and is no Podman or Kubernetes checkpoint archive either "+
			"(those hold %s/, %s and %s): not a checkpoint archive, or truncated",
			ArchiveManifest, ArchiveImagesDir, ArchiveConfigDump, ArchiveSpecDump)
	}
	who := ForeignOrigin(dir)
	if _, ok := got[ArchiveImagesDir+"/"+metaFile]; ok && engine(dir) == "" {
		// mycr's images, and no engine's annotations: mycr's own archive, cut
		// before its manifest (Podman's exports of mycr's containers say Podman).
		return nil, fmt.Errorf("archive was made by mycr but has no %s: truncated", ArchiveManifest)
	}
	if !unverified {
		return nil, fmt.Errorf("archive is a %s checkpoint archive: it has no %s (no checksums, no signature), "+
			"so mycr cannot verify that it is intact and unaltered. Restoring it runs its contents as root: "+
			"if you trust where it came from, pass --unverified to restore it anyway", who, ArchiveManifest)
	}
	m := &Manifest{Foreign: who}
	for _, mm := range got {
		m.Members = append(m.Members, mm)
	}
	sort.Slice(m.Members, func(i, j int) bool { return m.Members[i].Name < m.Members[j].Name })
	return m, nil
}

// ForeignOrigin names the tool that wrote an unpacked foreign archive, from the
// annotations of its spec.dump (those checkpointctl tells engines by) and the
// runtime in its config.dump.
func ForeignOrigin(dir string) string {
	if e := engine(dir); e != "" {
		return e
	}
	var c ConfigDump
	if data, err := os.ReadFile(filepath.Join(dir, ArchiveConfigDump)); err == nil {
		_ = json.Unmarshal(data, &c)
	}
	if c.OCIRuntime != "" {
		return "foreign (runtime " + c.OCIRuntime + ")"
	}
	return "foreign"
}

// engine names the container engine whose annotations spec.dump carries, or "".
func engine(dir string) string {
	var s struct {
		Annotations map[string]string `json:"annotations"`
	}
	if data, err := os.ReadFile(filepath.Join(dir, ArchiveSpecDump)); err == nil {
		_ = json.Unmarshal(data, &s)
	}
	// io.container.manager first, as checkpointctl: Podman writes some of
	// CRI-O's annotations too.
	switch s.Annotations["io.container.manager"] {
	case "libpod":
		return "Podman"
	case "cri-o":
		return "CRI-O (Kubernetes)"
	}
	for _, e := range []struct{ prefix, name string }{
		{"io.kubernetes.cri-o.", "CRI-O (Kubernetes)"},
		{"io.kubernetes.cri.", "containerd (Kubernetes)"},
	} {
		for k := range s.Annotations {
			if strings.HasPrefix(k, e.prefix) {
				return e.name
			}
		}
	}
	return ""
}
