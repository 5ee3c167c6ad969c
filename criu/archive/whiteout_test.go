package archive

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// containerd's diffs mark deleted files with OCI whiteouts: they delete, they
// are not written as files, and what this diff wrote survives an opaque marker.
func TestApplyRootfsDiffWhiteouts(t *testing.T) {
	rootfs := t.TempDir()
	for _, f := range []string{"etc/group", "etc/keep", "dir/a", "dir/sub/b"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(rootfs, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(rootfs, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	diff := diffTar(t, "etc/.wh.group", "dir/new", "dir/.wh..wh..opq")
	if err := ApplyRootfsDiff(bytes.NewReader(diff), rootfs); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]bool{"etc/group": false, "etc/.wh.group": false, "etc/keep": true,
		"dir/a": false, "dir/sub": false, "dir/new": true, "dir/.wh..wh..opq": false} {
		if _, err := os.Lstat(filepath.Join(rootfs, f)); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", f, err == nil, want)
		}
	}
	for _, bad := range []string{"etc/.wh.", "etc/.wh..", "etc/.wh..."} {
		err := ApplyRootfsDiff(bytes.NewReader(diffTar(t, bad)), rootfs)
		if err == nil || !strings.Contains(err.Error(), "names no file") {
			t.Errorf("whiteout %q: want a refusal, got %v", bad, err)
		}
	}
	if _, err := os.Stat(filepath.Join(rootfs, "etc/keep")); err != nil {
		t.Errorf("a refused whiteout removed something: %v", err)
	}
}

// diffTar is a diff of empty regular files.
func diffTar(t *testing.T, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
