package integration

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestImportRefusedDiffLeavesBundle: an archive whose rootfs-diff.tar holds a
// symlink, a file under it and then a member that is refused (a hard link) is
// refused with an error naming that member, and the bundle's rootfs is exactly
// as it was: the members before the refused one were not applied either.
func TestImportRefusedDiffLeavesBundle(t *testing.T) {
	requireCRIU(t)
	src, dst := NewEnv(t), NewEnv(t)
	c := src.StartCounter("difftamper", Edit(func(s *specs.Spec) { s.Root.Readonly = false }))
	good := filepath.Join(src.Dir, "good.tar")
	src.MustRun("checkpoint", "--leave-running", "--compress", "none", "--export", good, c.ID)
	diff := tarOf(t, []*tar.Header{
		{Name: "planted", Typeflag: tar.TypeSymlink, Linkname: "/etc"},
		{Name: "planted/planted-file", Typeflag: tar.TypeReg, Mode: 0o644, Size: 5},
		{Name: "etc/hard", Typeflag: tar.TypeLink, Linkname: "etc/passwd"},
	})
	crafted := filepath.Join(dst.Dir, "crafted.tar")
	withMember(t, good, crafted, "rootfs-diff.tar", diff)

	bundle := dst.CopyBundle(c.Bundle, nil)
	rootfs := filepath.Join(bundle, "rootfs")
	before := treeOf(t, rootfs)
	r := dst.MustFail("restore", "-d", "--import", crafted, "--bundle", bundle, dst.ID("crafted"))
	if !strings.Contains(r.Stderr, "etc/hard") || !strings.Contains(r.Stderr, "hard link") {
		t.Errorf("the error does not name the refused member and why:\n%s", r)
	}
	if after := treeOf(t, rootfs); after != before {
		t.Errorf("a refused import changed the bundle's rootfs:\nbefore:\n%s\nafter:\n%s", clip(before), clip(after))
	}
	// A bundle without config.json gets the archive's spec.dump as one on an
	// import, but not on a refused import.
	bare := dst.CopyBundle(c.Bundle, nil)
	if err := os.Remove(filepath.Join(bare, "config.json")); err != nil {
		t.Fatal(err)
	}
	dst.MustFail("restore", "-d", "--import", crafted, "--bundle", bare, dst.ID("crafted-bare"))
	if _, err := os.Stat(filepath.Join(bare, "config.json")); err == nil {
		t.Error("a refused import wrote config.json into the bundle")
	}
	dst.ExpectNoState("after a refused import")
}

// tarOf writes the headers (regular files get Size bytes of "x") as a tar.
func tarOf(t *testing.T, hdrs []*tar.Header) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, h := range hdrs {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write(bytes.Repeat([]byte("x"), int(h.Size)))
	}
	tw.Close()
	return b.Bytes()
}

// withMember copies the uncompressed archive in to out with member set to
// data, and a manifest whose checksums match: an archive anyone could make,
// since an unsigned manifest only guards against corruption.
func withMember(t *testing.T, in, out, member string, data []byte) {
	t.Helper()
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	members := map[string][]byte{}
	var manifest map[string]any
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		b, _ := io.ReadAll(tr)
		if hdr.Name == "mycr-manifest.json" {
			if err := json.Unmarshal(b, &manifest); err != nil {
				t.Fatal(err)
			}
			continue
		}
		members[hdr.Name] = b
	}
	members[member] = data
	names := make([]string, 0, len(members))
	for n := range members {
		names = append(names, n)
	}
	sort.Strings(names)
	var list []map[string]any
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, n := range names {
		sum := sha256.Sum256(members[n])
		list = append(list, map[string]any{"name": n, "size": len(members[n]), "sha256": hex.EncodeToString(sum[:])})
		tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o600, Size: int64(len(members[n]))})
		tw.Write(members[n])
	}
	manifest["members"] = list
	m, _ := json.Marshal(manifest)
	tw.WriteHeader(&tar.Header{Name: "mycr-manifest.json", Typeflag: tar.TypeReg, Mode: 0o600, Size: int64(len(m))})
	tw.Write(m)
	tw.Close()
	if err := os.WriteFile(out, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// treeOf lists every path below dir with its type, mode, size and link target.
func treeOf(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		link, _ := os.Readlink(p)
		fmt.Fprintf(&b, "%s %v %d %s\n", strings.TrimPrefix(p, dir), fi.Mode(), fi.Size(), link)
		return nil
	})
	return b.String()
}
