package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mycr/mycr/spec"
)

// execBundle is a bundle whose config.json is mycr's default spec, changed by edit.
func execBundle(t *testing.T, edit func(*specs.Spec)) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := spec.Default(false)
	if edit != nil {
		edit(s)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestExecFlagsAsRunc: exec's flags change the bundle's process as runc's do.
func TestExecFlagsAsRunc(t *testing.T) {
	bundle := execBundle(t, func(s *specs.Spec) { s.Process.NoNewPrivileges = true })
	c := verbContext(t, execCommand, nil, []string{"--cap", "CAP_SYSLOG", "--no-new-privs=false", "-g", "100", "-g", "4294967295", "ct", "true"})
	p, err := execProcess(c, bundle)
	if err != nil {
		t.Fatal(err)
	}
	if p.NoNewPrivileges {
		t.Error("--no-new-privs=false: the bundle's no_new_privs stays set")
	}
	caps := p.Capabilities
	for name, set := range map[string][]string{"bounding": caps.Bounding, "effective": caps.Effective, "permitted": caps.Permitted} {
		if !slices.Contains(set, "CAP_SYSLOG") {
			t.Errorf("--cap CAP_SYSLOG not in the %s set", name)
		}
	}
	// The default spec sets no inheritable caps: no ambient ones either (runc).
	if slices.Contains(caps.Ambient, "CAP_SYSLOG") {
		t.Error("--cap made an ambient cap without inheritable ones")
	}
	if !slices.Equal(p.User.AdditionalGids, []uint32{100, 4294967295}) {
		t.Errorf("additional gids %v", p.User.AdditionalGids)
	}

	// With inheritable caps in the bundle, --cap adds an ambient one too.
	bundle = execBundle(t, func(s *specs.Spec) { s.Process.Capabilities.Inheritable = []string{"CAP_KILL"} })
	p, err = execProcess(verbContext(t, execCommand, nil, []string{"--cap", "CAP_SYSLOG", "ct", "true"}), bundle)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(p.Capabilities.Ambient, "CAP_SYSLOG") {
		t.Errorf("ambient %v: want CAP_SYSLOG", p.Capabilities.Ambient)
	}
	if p.NoNewPrivileges != spec.Default(false).Process.NoNewPrivileges {
		t.Error("no --no-new-privs: the bundle's value changed")
	}

	for _, g := range []string{"-1", "4294967296"} {
		_, err := execProcess(verbContext(t, execCommand, nil, []string{"-g", g, "ct", "true"}), bundle)
		if err == nil || !strings.Contains(err.Error(), "--additional-gids") {
			t.Errorf("-g %s: want an --additional-gids error, got %v", g, err)
		}
	}
}
