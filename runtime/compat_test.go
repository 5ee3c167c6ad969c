package runtime

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
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
		retargetCgroup(s, OpenCheckpoint(dir), "new")
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

// metaFromHere writes and reads back the metadata of a checkpoint taken on this
// host now, edited by change, as restore reads it.
func metaFromHere(t *testing.T, change func(*criu.Meta)) (string, *criu.Meta) {
	t.Helper()
	dir := t.TempDir()
	m := criu.NewMeta("c1", "/bundle", 40201)
	change(m)
	if err := criu.WriteMeta(dir, m); err != nil {
		t.Fatal(err)
	}
	back, err := criu.ReadMeta(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, back
}

func TestCompatImageHost(t *testing.T) {
	hostWith := func(have ...string) func(string) (bool, string) {
		return func(f string) (bool, string) {
			for _, h := range have {
				if h == f {
					return true, "works"
				}
			}
			return false, "probe says no"
		}
	}
	all := hostWith(criu.NeedUffd, criu.NeedTCPRepair)
	cases := []struct {
		name   string
		change func(*criu.Meta)
		host   func(string) (bool, string)
		want   []string // empty: restorable
	}{
		{"plain", func(*criu.Meta) {}, hostWith(), nil},
		{"other arch", func(m *criu.Meta) { m.Arch = "s390x" }, all, []string{"taken on s390x", "this host is " + goruntime.GOARCH}},
		{"newer criu", func(m *criu.Meta) { m.CriuVersion = 50000 }, all, []string{"CRIU 5.0", "install CRIU >= 5.0"}},
		{"lazy, uffd here", func(m *criu.Meta) { m.LazyPages = true }, all, nil},
		{"lazy, no uffd", func(m *criu.Meta) { m.LazyPages = true }, hostWith(criu.NeedTCPRepair),
			[]string{"userfaultfd", "lazy pages", "probe says no", "CONFIG_USERFAULTFD"}},
		{"tcp, no repair", func(m *criu.Meta) { m.TCPEstablished = true }, hostWith(criu.NeedUffd),
			[]string{"TCP repair", "--tcp-established", "CAP_NET_ADMIN"}},
		{"both missing", func(m *criu.Meta) { m.TCPEstablished, m.LazyPages = true, true }, hostWith(),
			[]string{"userfaultfd", "TCP repair"}},
	}
	for _, tc := range cases {
		_, m := metaFromHere(t, tc.change)
		err := checkImageHost(m, 40201, tc.host)
		if len(tc.want) == 0 {
			if err != nil {
				t.Errorf("%s: refused: %v", tc.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error does not say %q: %v", tc.name, w, err)
			}
		}
	}
}

// TestCompatThisHost: metadata written here passes here, with the
// host's real answers for lazy pages and TCP repair; a newer metadata format
// and missing bind sources are refused.
func TestCompatThisHost(t *testing.T) {
	if _, err := exec.LookPath("criu"); err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and criu in PATH")
	}
	s := &specs.Spec{Mounts: []specs.Mount{{Destination: "/data", Source: t.TempDir(), Type: "bind"}}}
	dir, _ := metaFromHere(t, func(m *criu.Meta) { m.LazyPages, m.TCPEstablished = true, true })
	if err := checkRestorable(OpenCheckpoint(dir), s, 40201); err != nil {
		t.Fatalf("this host's own lazy tcp checkpoint refused: %v", err)
	}
	s.Mounts[0].Source = "/no/such/volume"
	if err := checkRestorable(OpenCheckpoint(dir), s, 40201); err == nil || !strings.Contains(err.Error(), "--remap-mount") {
		t.Errorf("missing bind source: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, criu.MetaName))
	if err != nil {
		t.Fatal(err)
	}
	newer := strings.Replace(string(raw), `"format": 1`, fmt.Sprintf(`"format": %d`, criu.MetaFormat+1), 1)
	if err := os.WriteFile(filepath.Join(dir, criu.MetaName), []byte(newer), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := checkRestorable(OpenCheckpoint(dir), &specs.Spec{}, 40201); err == nil || !strings.Contains(err.Error(), "upgrade mycr") {
		t.Errorf("newer metadata format: %v", err)
	}
}
