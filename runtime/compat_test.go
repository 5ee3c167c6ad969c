package runtime

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/mycr/mycr/criu"
)

func TestRetargetCgroup(t *testing.T) {
	dir := t.TempDir()
	if err := criu.WriteMeta(dir, criu.NewMeta("old", "/b", 40201)); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"/default/old":       "/default/new",
		"system.slice:x:old": "system.slice:x:new",
		"old":                "new",
		"/default/older":     "/default/older",
		"":                   "",
	} {
		s := &specs.Spec{Linux: &specs.Linux{CgroupsPath: in}}
		retargetCgroup(s, dir, "new")
		if s.Linux.CgroupsPath != want {
			t.Errorf("%q -> %q, want %q", in, s.Linux.CgroupsPath, want)
		}
	}
}

func TestRemapMounts(t *testing.T) {
	s := &specs.Spec{Mounts: []specs.Mount{{Destination: "/data", Source: "/a", Type: "bind"}}}
	if err := RemapMounts(s, map[string]string{"/data": "/b"}); err != nil || s.Mounts[0].Source != "/b" {
		t.Fatalf("remap: %v %+v", err, s.Mounts)
	}
	if err := RemapMounts(s, map[string]string{"/nope": "/c"}); err == nil {
		t.Fatal("remap of a missing mount accepted")
	}
}
