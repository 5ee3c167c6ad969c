package dropin

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// containerd v2 for its CRI's checkpoint and restore, built by
// scripts/install-containerd2.sh off PATH (Debian's containerd 1.6 stays the
// one on PATH). v2.3 is the newest line whose CRI restores a checkpoint
// through CreateContainer: v2.4 removed that (its RELEASES.md). Its CRI
// CheckpointContainer is the same code as v2.4.2's. MYCR_CONTAINERD2_VERSION
// picks another version that script built.
var (
	containerd2Version = envOr("MYCR_CONTAINERD2_VERSION", "v2.3.7")
	containerd2Bin     = filepath.Join("/usr/local/lib/mycr-containerd2", containerd2Version, "bin")
)

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// criRestoresViaCreate says whether the containerd under test restores
// checkpoints through CRI CreateContainer: v2.2 and v2.3 do, v2.4 removed it.
func criRestoresViaCreate() bool {
	return strings.HasPrefix(containerd2Version, "v2.2.") || strings.HasPrefix(containerd2Version, "v2.3.")
}

// needContainerd2 skips the test when containerd v2 is not built; in CI
// (CI=true) that is a failure: make test-dropin builds it.
func needContainerd2(t *testing.T) {
	t.Helper()
	needSetup(t)
	for _, b := range []string{"containerd", "ctr", "containerd-shim-runc-v2"} {
		if _, err := os.Stat(filepath.Join(containerd2Bin, b)); err != nil {
			msg := fmt.Sprintf("containerd %s is not installed (%v): run MYCR_CONTAINERD2_VERSIONS=%s scripts/install-containerd2.sh",
				containerd2Version, err, containerd2Version)
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
}

// startContainerd2 starts containerd v2 with its CRI plugin: runtime handler
// "mycr" (the runc v2 shim with BinaryName mycr and a --root of this run),
// CRIU checkpoint/restore on, including the restore through CreateContainer
// that Kubernetes' checkpoint restore uses, plain-HTTP pulls from registries
// on loopback. The pause and busybox images are imported into k8s.io.
func startContainerd2(t *testing.T, name string) *containerd {
	t.Helper()
	needContainerd2(t)
	// A directory of its own per call: go test -count=N runs the test again in this process.
	c := &containerd{dir: filepath.Join(base, name+"-"+randSuffix()), ns: "k8s.io", bin: containerd2Bin}
	c.runcRoot = filepath.Join(c.dir, "runc")
	dirs := map[string]string{}
	for _, d := range []string{"cni/bin", "cni/conf", "certs.d", "opt"} {
		dirs[d] = filepath.Join(c.dir, d)
		if err := os.MkdirAll(dirs[d], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// NRI would listen on the host's /var/run/nri; the opt plugin fills /opt/containerd.
	extra := fmt.Sprintf(`disabled_plugins = ['io.containerd.nri.v1.nri']
[plugins.'io.containerd.internal.v1.opt']
  path = %q
[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = '127.0.0.1'
[plugins.'io.containerd.cri.v1.images']
  snapshotter = 'overlayfs'
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = %q
  [plugins.'io.containerd.cri.v1.images'.registry]
    config_path = %q
[plugins.'io.containerd.cri.v1.runtime']
%s
  enable_criu = true
  enable_experimental_restore_via_create = true
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = [%q]
    conf_dir = %q
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = 'mycr'
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.mycr]
      runtime_type = 'io.containerd.runc.v2'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.mycr.options]
        BinaryName = %q
        Root = %q
`, dirs["opt"], pauseRef, dirs["certs.d"], oomLine(), dirs["cni/bin"], dirs["cni/conf"], mycrBin, c.runcRoot)
	c.launch(t, 3, extra)
	c.must(t, "image", "import", writePauseImage(t))
	return c
}
