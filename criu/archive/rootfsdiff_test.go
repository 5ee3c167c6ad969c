package archive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"strings"
	"testing"
)

// A diff whose last member is refused changes nothing: the symlink and the file
// below it that come first are not written either.
func TestApplyRootfsDiffRefusedChangesNothing(t *testing.T) {
	for name, last := range map[string]*tar.Header{
		"hard link": {Name: "etc/passwd2", Typeflag: tar.TypeLink, Linkname: "etc/passwd"},
		"dotdot":    {Name: "../escape", Typeflag: tar.TypeReg, Mode: 0o644},
		"device":    {Name: "dev/mem2", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 1},
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			for _, h := range []*tar.Header{
				{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/tmp"},
				{Name: "link/planted", Typeflag: tar.TypeReg, Mode: 0o644, Size: 2},
				last,
			} {
				if err := tw.WriteHeader(h); err != nil {
					t.Fatal(err)
				}
				if h.Size > 0 {
					tw.Write([]byte("hi"))
				}
			}
			tw.Close()
			rootfs := t.TempDir()
			err := ApplyRootfsDiff(bytes.NewReader(buf.Bytes()), rootfs)
			if err == nil || !strings.Contains(err.Error(), last.Name) {
				t.Fatalf("want an error naming %q, got %v", last.Name, err)
			}
			if ents, _ := os.ReadDir(rootfs); len(ents) > 0 {
				t.Fatalf("a refused diff changed the rootfs: %s is there", ents[0].Name())
			}
		})
	}
}

// containerd's archives carry the diff gzip-compressed (its rw layer blob).
func TestApplyRootfsDiffGzip(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "etc/marker", Typeflag: tar.TypeReg, Mode: 0o644, Size: 2}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte("hi"))
	tw.Close()
	zw.Close()
	rootfs := t.TempDir()
	if err := ApplyRootfsDiff(bytes.NewReader(buf.Bytes()), rootfs); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(rootfs + "/etc/marker"); err != nil || string(b) != "hi" {
		t.Fatalf("the gzip diff's file: %q %v", b, err)
	}
}
