package migrate

import (
	"io"
	"os"
	"path/filepath"
	"strings"
)

// transferImages gives dst the image files of src (the transfer to the target)
// and returns their bytes. Logs and mycr's config are not images. With link
// set, a file is hard-linked when both dirs share a filesystem: CRIU only reads
// images at restore, so both dirs can hold the same inode (the source's
// rollback still finds its images intact) and nothing is copied; otherwise,
// and for any file that cannot be linked, it is copied.
func transferImages(src, dst string, link bool) (int64, error) {
	ents, err := os.ReadDir(src)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, e := range ents {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasSuffix(name, ".log") || name == "mycr-criu.conf" {
			continue
		}
		from, to := filepath.Join(src, name), filepath.Join(dst, name)
		if link {
			if fi, err := os.Lstat(from); err == nil && os.Link(from, to) == nil {
				total += fi.Size()
				continue
			}
		}
		n, err := copyImage(from, to)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// transfer hands the dumped images to the target. A restore with auto-dedup
// punches holes in the page images it has read, which would eat the source's
// images through a shared inode: those are copied.
func (m *migration) transfer() error {
	n, err := transferImages(m.srcDir, m.dstDir, !m.o.Criu.AutoDedup)
	m.rep.ImageBytes = n
	return err
}

func copyImage(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in) // copy_file_range between files: no copy through user space
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}
