package tmpfs

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Extract fills dir (a new, empty tmpfs) with a tar that Capture wrote: files,
// owners, modes and mtimes as they were. Names that would leave dir are refused.
func Extract(r io.Reader, dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	x := extractor{root: root}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil {
			err = x.entry(hdr, tr)
			if err != nil {
				err = fmt.Errorf("%s: %w", hdr.Name, err)
			}
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("the file is truncated (a damaged or partial copy of the images): %w", err)
		}
		if err != nil {
			return err
		}
	}
	// Directories last: creating their entries changed their mtimes.
	for i := len(x.dirs) - 1; i >= 0; i-- {
		d := x.dirs[i]
		if err := root.Chtimes(d.name, d.mtime, d.mtime); err != nil {
			return err
		}
	}
	return nil
}

type extractor struct {
	root *os.Root
	dirs []dirTime
}

type dirTime struct {
	name  string
	mtime time.Time
}

func (x *extractor) entry(hdr *tar.Header, r io.Reader) error {
	name := path.Clean(hdr.Name)
	if !filepath.IsLocal(name) && name != "." {
		return errors.New("not a name inside the mount")
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := x.root.Mkdir(name, 0o700); err != nil && !existingDir(x.root, name, err) {
			return err
		}
		x.dirs = append(x.dirs, dirTime{name, hdr.ModTime})
		return x.own(name, hdr)
	case tar.TypeReg:
		extents, size, err := sparseLayout(hdr)
		if err != nil {
			return err
		}
		f, err := x.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
		if err != nil {
			return err
		}
		err = writeExtents(f, r, extents, size)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if err := x.own(name, hdr); err != nil {
			return err
		}
		return x.root.Chtimes(name, hdr.ModTime, hdr.ModTime)
	case tar.TypeLink:
		return x.root.Link(path.Clean(hdr.Linkname), name)
	case tar.TypeSymlink:
		if err := x.root.Symlink(hdr.Linkname, name); err != nil {
			return err
		}
		return x.at(name, func(dirfd int, base string) error {
			if err := unix.Fchownat(dirfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				return err
			}
			t := unix.NsecToTimespec(hdr.ModTime.UnixNano())
			return unix.UtimesNanoAt(dirfd, base, []unix.Timespec{t, t}, unix.AT_SYMLINK_NOFOLLOW)
		})
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		kind := map[byte]uint32{tar.TypeChar: unix.S_IFCHR, tar.TypeBlock: unix.S_IFBLK, tar.TypeFifo: unix.S_IFIFO}[hdr.Typeflag]
		dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
		if err := x.at(name, func(dirfd int, base string) error {
			return unix.Mknodat(dirfd, base, kind|0o600, int(dev))
		}); err != nil {
			return err
		}
		if err := x.own(name, hdr); err != nil {
			return err
		}
		return x.root.Chtimes(name, hdr.ModTime, hdr.ModTime)
	}
	return fmt.Errorf("entry type %q is not one Capture writes", hdr.Typeflag)
}

// own sets owner, then mode (a chown clears set-id bits).
func (x *extractor) own(name string, hdr *tar.Header) error {
	if err := x.root.Lchown(name, hdr.Uid, hdr.Gid); err != nil {
		return err
	}
	return x.root.Chmod(name, hdr.FileInfo().Mode()) // set-id and sticky bits too
}

// at runs fn on name's parent directory (opened inside the root) and base
// name, for what os.Root cannot do itself (device nodes, a symlink's times).
func (x *extractor) at(name string, fn func(dirfd int, base string) error) error {
	parent, err := x.root.Open(path.Dir(name))
	if err != nil {
		return err
	}
	defer parent.Close()
	return fn(int(parent.Fd()), path.Base(name))
}

func existingDir(root *os.Root, name string, err error) bool {
	if !errors.Is(err, fs.ErrExist) {
		return false
	}
	fi, serr := root.Lstat(name)
	return serr == nil && fi.IsDir()
}
