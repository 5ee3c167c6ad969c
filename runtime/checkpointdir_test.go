package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/mycr/mycr/criu"
)

// TestCheckpointReadOnce: the record is read when the checkpoint is opened;
// the restore's steps (bundle, cgroup, compat, netns, import's bundle) use
// that value, not the file, which is removed here after opening.
func TestCheckpointReadOnce(t *testing.T) {
	dir, bundle := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := criu.NewMeta("old", bundle, 40201)
	m.Netns = criu.NetnsEmptyLoUp
	if err := criu.WriteMeta(dir, m); err != nil {
		t.Fatal(err)
	}
	cp := OpenCheckpoint(dir)
	if cp.Meta == nil || cp.Meta.Bundle != bundle {
		t.Fatalf("opened: %+v", cp)
	}
	if err := os.Remove(filepath.Join(dir, criu.MetaName)); err != nil {
		t.Fatal(err)
	}
	if got := restoreBundle("", cp); got != bundle {
		t.Errorf("bundle: got %q, want %q", got, bundle)
	}
	if got, err := importBundle("", dir, cp); err != nil || got != bundle {
		t.Errorf("import's bundle: got %q, %v", got, err)
	}
	s := &specs.Spec{Linux: &specs.Linux{CgroupsPath: "/default/old",
		Namespaces: []specs.LinuxNamespace{{Type: specs.NetworkNamespace}}}}
	retargetCgroup(s, cp, "new")
	if s.Linux.CgroupsPath != "/default/new" {
		t.Errorf("cgroup: got %q", s.Linux.CgroupsPath)
	}
	o := &RestoreOpts{Create: CreateOpts{Spec: s}}
	restoreNetns(o, cp)
	if o.Criu.EmptyNs&unix.CLONE_NEWNET == 0 || len(o.Create.Hooks) == 0 {
		t.Errorf("netns: the checkpoint's empty netns was not followed: %+v", o.Criu)
	}
}

// TestOpenCheckpointWithoutRecord: images without mycr's record (runc's)
// open with no Meta and are restorable; a corrupt record is an error that
// restore reports.
func TestOpenCheckpointWithoutRecord(t *testing.T) {
	dir := t.TempDir()
	cp := OpenCheckpoint(dir)
	if cp.Meta != nil || !errors.Is(cp.MetaErr, os.ErrNotExist) || cp.unreadableMeta() != nil {
		t.Errorf("no record: %+v", cp)
	}
	if err := os.WriteFile(filepath.Join(dir, criu.MetaName), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if cp := OpenCheckpoint(dir); cp.Meta != nil || cp.unreadableMeta() == nil {
		t.Errorf("corrupt record: %+v", cp)
	}
	if !filepath.IsAbs(OpenCheckpoint(".").Dir) {
		t.Error("Dir is not absolute")
	}
}
