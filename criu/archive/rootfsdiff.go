package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// WriteRootfsDiff writes a tar of what changed in rootfs since `since` (the
// container's start): every file, directory and symlink whose ctime is newer,
// which no process can fake. It stays on rootfs's filesystem and skips the
// container's mount points (volumes travel on their own). Files deleted since
// start are not detected. It returns how many entries it wrote.
func WriteRootfsDiff(w io.Writer, rootfs string, since time.Time, skip []string) (int, error) {
	var rootSt unix.Stat_t
	if err := unix.Lstat(rootfs, &rootSt); err != nil {
		return 0, err
	}
	skipSet := map[string]bool{}
	for _, s := range skip {
		skipSet[filepath.Clean("/"+s)] = true
	}
	tw := tar.NewWriter(w)
	n := 0
	err := filepath.WalkDir(rootfs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(rootfs, p)
		if rel == "." {
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		if st.Dev != rootSt.Dev || skipSet["/"+rel] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if time.Unix(st.Ctim.Unix()).Before(since) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		} else if !info.Mode().IsRegular() && !info.IsDir() {
			return nil // sockets, fifos, devices: recreated by the container or CRIU
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		n++
		if info.Mode().IsRegular() {
			return copyFileTo(tw, p)
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("rootfs diff of %s: %w", rootfs, err)
	}
	return n, tw.Close()
}

func copyFileTo(w io.Writer, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// ApplyRootfsDiff writes a rootfs diff into rootfs. Paths are resolved inside
// rootfs (symlinks in it cannot lead outside), and only files, directories and
// symlinks are accepted. The whole diff is checked before anything is written,
// so that a refused member leaves the rootfs as it was, not half changed.
func ApplyRootfsDiff(r io.ReadSeeker, rootfs string) error {
	if err := CheckRootfsDiff(r); err != nil {
		return err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rootfs diff: %w", err)
	}
	written := map[string]bool{}
	return eachDiffEntry(r, func(tr *tar.Reader, hdr *tar.Header, name string) error {
		// Resolve the parent inside rootfs; the last component is replaced as is.
		parent, err := securejoin.SecureJoin(rootfs, filepath.Dir(name))
		if err != nil {
			return err
		}
		dst := filepath.Join(parent, filepath.Base(name))
		if !strings.HasPrefix(dst, filepath.Clean(rootfs)+"/") {
			return fmt.Errorf("rootfs diff entry %q leaves the rootfs: refused", hdr.Name)
		}
		if ok, err := applyWhiteout(parent, filepath.Base(name), written); ok || err != nil {
			if err != nil {
				return fmt.Errorf("rootfs diff entry %q: %w", hdr.Name, err)
			}
			return nil
		}
		if err := applyEntry(tr, hdr, parent, dst); err != nil {
			return fmt.Errorf("rootfs diff entry %q: %w", hdr.Name, err)
		}
		written[dst] = true
		return nil
	})
}

// CheckRootfsDiff reads a whole rootfs diff and refuses it if any member would be.
func CheckRootfsDiff(r io.Reader) error {
	return eachDiffEntry(r, func(*tar.Reader, *tar.Header, string) error { return nil })
}

// eachDiffEntry reads the diff to its end and calls apply for each member
// whose name and type are acceptable; it stops at the first that is not.
func eachDiffEntry(r io.Reader, apply func(*tar.Reader, *tar.Header, string) error) error {
	// containerd's diff is its rw layer blob, gzip-compressed; Podman's and mycr's are plain.
	dr, closeFn, err := decompressor(r)
	if err != nil {
		return fmt.Errorf("rootfs diff: %w", err)
	}
	defer closeFn()
	tr := tar.NewReader(dr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("rootfs diff: %w", err)
		}
		name, err := memberName(hdr.Name)
		if err != nil {
			return fmt.Errorf("rootfs diff: %w", err)
		}
		if err := checkWhiteout(path.Base(name)); err != nil {
			return fmt.Errorf("rootfs diff entry %q: %w: refused; nothing was changed in the rootfs", hdr.Name, err)
		}
		switch hdr.Typeflag {
		case tar.TypeDir, tar.TypeSymlink, tar.TypeReg:
		default:
			return fmt.Errorf("rootfs diff entry %q is a %s: only files, directories and symlinks are applied; "+
				"nothing was changed in the rootfs", hdr.Name, typeName(hdr.Typeflag))
		}
		if err := apply(tr, hdr, name); err != nil {
			return err
		}
	}
}

func applyEntry(r io.Reader, hdr *tar.Header, parent, dst string) error {
	mode := os.FileMode(hdr.Mode) & os.ModePerm
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	if st, err := os.Lstat(dst); err == nil && (hdr.Typeflag != tar.TypeDir || !st.IsDir()) {
		if err := os.RemoveAll(dst); err != nil {
			return err
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := os.Mkdir(dst, mode); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		return os.Chmod(dst, mode)
	case tar.TypeSymlink:
		return os.Symlink(hdr.Linkname, dst)
	case tar.TypeReg:
		f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, mode)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, r)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Lchown(dst, hdr.Uid, hdr.Gid)
		}
		if err == nil {
			err = os.Chtimes(dst, hdr.ModTime, hdr.ModTime)
		}
		return err
	}
	return fmt.Errorf("is a %s: only files, directories and symlinks are applied", typeName(hdr.Typeflag)) // checked before
}
