package migrate

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestTransferImages: images reach the target by hard link on one filesystem
// (same inode, nothing copied) or by copy, never logs or mycr's CRIU config.
func TestTransferImages(t *testing.T) {
	for _, link := range []bool{true, false} {
		src, dst := t.TempDir(), t.TempDir()
		files := map[string]string{"pages-1.img": "memory", "core-1.img": "core", "dump.log": "log", "mycr-criu.conf": "address"}
		for n, body := range files {
			if err := os.WriteFile(filepath.Join(src, n), []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		n, err := transferImages(src, dst, link)
		if err != nil || n != int64(len("memory")+len("core")) {
			t.Fatalf("link=%v: %d bytes, %v", link, n, err)
		}
		for name, body := range files {
			got, err := os.ReadFile(filepath.Join(dst, name))
			isImage := filepath.Ext(name) == ".img"
			if isImage != (err == nil) || (isImage && string(got) != body) {
				t.Errorf("link=%v: %s on the target: %q, %v", link, name, got, err)
			}
		}
		a, _ := os.Stat(filepath.Join(src, "pages-1.img"))
		b, _ := os.Stat(filepath.Join(dst, "pages-1.img"))
		shared := a.Sys().(*syscall.Stat_t).Ino == b.Sys().(*syscall.Stat_t).Ino
		if shared != link {
			t.Errorf("link=%v: the target's image shares the source's inode: %v", link, shared)
		}
	}
}
