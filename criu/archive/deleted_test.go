package archive

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDeletedFiles(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	for _, f := range []string{"etc/group", "etc/keep", "data/x/y"} {
		p := filepath.Join(root, f)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	victim := filepath.Join(outside, "victim")
	_ = os.WriteFile(victim, []byte("x"), 0o644)
	_ = os.Symlink(outside, filepath.Join(root, "link"))

	paths, err := ReadDeletedFiles(strings.NewReader(`["/etc/group", "/data/x", "/not/there", "/../../` +
		filepath.Base(outside) + `/victim", "/link/victim"]`))
	if err != nil {
		t.Fatal(err)
	}
	if err := RemoveDeletedFiles(root, paths); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]bool{"etc/group": false, "data/x": false, "etc/keep": true} {
		if _, err := os.Stat(filepath.Join(root, f)); (err == nil) != want {
			t.Errorf("%s: exists=%v, want %v", f, err == nil, want)
		}
	}
	if _, err := os.Stat(victim); err != nil {
		t.Fatalf("a path leading out of the rootfs removed %s", victim)
	}
	for _, bad := range []string{`"x"`, `["/"]`, `[".."]`} {
		if _, err := ReadDeletedFiles(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: want refused", bad)
		}
	}
}
