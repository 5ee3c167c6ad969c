package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// busyboxPath is the static busybox every rootfs gets.
const busyboxPath = "/bin/busybox"

var (
	appletsOnce sync.Once
	applets     []string
	appletsErr  error
)

// busyboxApplets lists the applets busybox can run (`busybox --list`).
func busyboxApplets() ([]string, error) {
	appletsOnce.Do(func() {
		out, err := exec.Command(busyboxPath, "--list").Output()
		if err != nil {
			appletsErr = fmt.Errorf("%s --list: %v", busyboxPath, err)
			return
		}
		for _, a := range strings.Fields(string(out)) {
			if a != "busybox" && !strings.Contains(a, "/") {
				applets = append(applets, a)
			}
		}
		if len(applets) == 0 {
			appletsErr = fmt.Errorf("%s --list printed no applets", busyboxPath)
		}
	})
	return applets, appletsErr
}

// MakeRootfs builds a minimal busybox root filesystem at dir: /bin/busybox with a
// symlink per applet, /etc/passwd, /etc/group, /etc/hosts, and empty mount points.
// extra maps a host file to its path inside the rootfs (copied, mode kept).
func MakeRootfs(t *testing.T, dir string, extra map[string]string) {
	t.Helper()
	apps, err := busyboxApplets()
	if err != nil {
		t.Skipf("busybox-static is needed for the test rootfs: %v", err)
	}
	for _, d := range []string{"bin", "etc", "proc", "sys", "dev", "tmp", "root", "out", "data", "run"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(busyboxPath, filepath.Join(dir, "bin", "busybox")); err != nil {
		t.Fatal(err)
	}
	for _, a := range apps {
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", a)); err != nil && !os.IsExist(err) {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"etc/group":  "root:x:0:\nnogroup:x:65534:\n",
		"etc/hosts":  "127.0.0.1\tlocalhost\n::1\tlocalhost\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for src, dst := range extra {
		if err := copyFile(src, filepath.Join(dir, dst)); err != nil {
			t.Fatal(err)
		}
	}
}

// copyFile copies a regular file, keeping its permission bits.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// bundleConfig is what a test asks of a bundle on top of `mycr spec`'s default.
type bundleConfig struct {
	args     []string
	terminal bool
	binds    [][2]string // host source, container destination
	netprog  bool
	edits    []func(*specs.Spec)
}

// BundleOpt adjusts a bundle.
type BundleOpt func(*bundleConfig)

// Args sets process.args (default: sleep forever).
func Args(a ...string) BundleOpt { return func(c *bundleConfig) { c.args = a } }

// Shell sets process.args to `sh -c script`.
func Shell(script string) BundleOpt { return Args("sh", "-c", script) }

// Terminal makes process.terminal true (default false).
func Terminal() BundleOpt { return func(c *bundleConfig) { c.terminal = true } }

// Bind adds a read-write bind mount of host dir src at dst in the container.
func Bind(src, dst string) BundleOpt {
	return func(c *bundleConfig) { c.binds = append(c.binds, [2]string{src, dst}) }
}

// WithNetprog copies the test program into the rootfs as /bin/netprog.
func WithNetprog() BundleOpt { return func(c *bundleConfig) { c.netprog = true } }

// Edit applies any change to the spec.
func Edit(f func(*specs.Spec)) BundleOpt {
	return func(c *bundleConfig) { c.edits = append(c.edits, f) }
}

// NewBundle makes a bundle: a busybox rootfs and the config.json `mycr spec`
// writes, edited (terminal false unless Terminal(), args, bind mounts).
func (e *Env) NewBundle(opts ...BundleOpt) string {
	e.t.Helper()
	cfg := bundleConfig{args: []string{"sleep", "100000"}}
	for _, o := range opts {
		o(&cfg)
	}
	dir := e.Mkdir("bundle")
	extra := map[string]string{}
	if cfg.netprog {
		extra[netprogBin] = "bin/netprog"
	}
	MakeRootfs(e.t, filepath.Join(dir, "rootfs"), extra)
	e.MustRun("spec", "--bundle", dir)
	s := ReadSpec(e.t, dir)
	if s.Process == nil {
		e.t.Fatalf("`%s spec` wrote a config.json without process", progName)
	}
	s.Process.Terminal = cfg.terminal
	s.Process.Args = cfg.args
	for _, b := range cfg.binds {
		s.Mounts = append(s.Mounts, specs.Mount{
			Destination: b[1],
			Type:        "bind",
			Source:      b[0],
			Options:     []string{"rbind", "rw"},
		})
	}
	for _, f := range cfg.edits {
		f(s)
	}
	WriteSpec(e.t, dir, s)
	return dir
}

// ReadSpec reads bundle/config.json.
func ReadSpec(t *testing.T, bundle string) *specs.Spec {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		t.Fatalf("reading config.json: %v", err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("config.json is not a runtime spec: %v", err)
	}
	return &s
}

// WriteSpec writes bundle/config.json.
func WriteSpec(t *testing.T, bundle string, s *specs.Spec) {
	t.Helper()
	b, err := json.MarshalIndent(s, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// CopyBundle makes a second bundle with a fresh rootfs and bundle's config.json,
// with bind-mount sources rewritten by remap (host source -> new host source).
func (e *Env) CopyBundle(bundle string, remap map[string]string) string {
	e.t.Helper()
	s := ReadSpec(e.t, bundle)
	dir := e.Mkdir("bundle")
	extra := map[string]string{}
	if _, err := os.Stat(filepath.Join(bundle, "rootfs", "bin", "netprog")); err == nil {
		extra[netprogBin] = "bin/netprog"
	}
	MakeRootfs(e.t, filepath.Join(dir, "rootfs"), extra)
	for i, m := range s.Mounts {
		if n, ok := remap[m.Source]; ok {
			s.Mounts[i].Source = n
		}
	}
	WriteSpec(e.t, dir, s)
	return dir
}
