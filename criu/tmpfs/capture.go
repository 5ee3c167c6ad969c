package tmpfs

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Capture writes the files of the mount whose root is dir to w as a tar.
// Nothing below dir is followed out of it (symlinks are kept as links, other
// mounts are not entered), so dir may be inside a container's root
// (/proc/PID/root/dev).
func Capture(dir string, w io.Writer) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	top, err := root.Lstat(".")
	if err != nil {
		return err
	}
	c := capturer{root: root, tw: tar.NewWriter(w), dev: statOf(top).Dev, links: map[uint64]string{}}
	if err := c.entry(".", top); err != nil {
		return err
	}
	return c.tw.Close()
}

type capturer struct {
	root  *os.Root
	tw    *tar.Writer
	dev   uint64
	links map[uint64]string // inode of a file with several links -> first name
}

func (c *capturer) entry(name string, fi fs.FileInfo) error {
	st := statOf(fi)
	if st.Dev != c.dev { // a mount point: keep it, do not enter
		return c.mountPoint(name, fi)
	}
	hdr := header(name, fi, st)
	switch {
	case fi.Mode()&fs.ModeSocket != 0:
		return nil
	case fi.IsDir():
		if err := c.tw.WriteHeader(hdr); err != nil {
			return err
		}
		return c.dir(name)
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := c.root.Readlink(name)
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
		return c.tw.WriteHeader(hdr)
	case fi.Mode()&fs.ModeDevice != 0:
		hdr.Typeflag = tar.TypeBlock
		if fi.Mode()&fs.ModeCharDevice != 0 {
			hdr.Typeflag = tar.TypeChar
		}
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
		return c.tw.WriteHeader(hdr)
	case fi.Mode()&fs.ModeNamedPipe != 0:
		hdr.Typeflag = tar.TypeFifo
		return c.tw.WriteHeader(hdr)
	case fi.Mode().IsRegular():
		if st.Nlink > 1 {
			if first, ok := c.links[st.Ino]; ok {
				hdr.Typeflag, hdr.Linkname = tar.TypeLink, first
				return c.tw.WriteHeader(hdr)
			}
			c.links[st.Ino] = name
		}
		return c.file(name, hdr)
	}
	return fmt.Errorf("%s: cannot carry a file of mode %v", name, fi.Mode())
}

func (c *capturer) dir(name string) error {
	d, err := c.root.Open(name)
	if err != nil {
		return err
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return err
	}
	for _, e := range entries {
		child := path.Join(name, e.Name())
		fi, err := c.root.Lstat(child)
		if err != nil {
			return err
		}
		if err := c.entry(child, fi); err != nil {
			return err
		}
	}
	return nil
}

// mountPoint keeps where another mount sits on this one: an empty directory
// (devpts, mqueue, a tmpfs) or an empty file (a bound device or terminal).
func (c *capturer) mountPoint(name string, fi fs.FileInfo) error {
	hdr := &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
	if fi.IsDir() {
		hdr.Name, hdr.Typeflag, hdr.Mode = name+"/", tar.TypeDir, 0o755
	}
	return c.tw.WriteHeader(hdr)
}

func (c *capturer) file(name string, hdr *tar.Header) error {
	f, err := c.root.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return writeSparse(c.tw, hdr, f)
}

// header describes fi in tar's terms, with numeric owners only.
func header(name string, fi fs.FileInfo, st *syscall.Stat_t) *tar.Header {
	typ := byte(tar.TypeReg)
	if fi.IsDir() {
		name, typ = name+"/", tar.TypeDir
	}
	return &tar.Header{
		Name:     name,
		Typeflag: typ,
		Mode:     int64(st.Mode & 0o7777),
		Uid:      int(st.Uid),
		Gid:      int(st.Gid),
		ModTime:  time.Unix(st.Mtim.Sec, st.Mtim.Nsec),
		Format:   tar.FormatPAX,
	}
}

func statOf(fi fs.FileInfo) *syscall.Stat_t {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st
	}
	return &syscall.Stat_t{}
}
