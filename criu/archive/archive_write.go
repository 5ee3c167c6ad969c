package archive

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"time"

	"github.com/mycr/mycr/criu"
)

// ArchiveFile is one member to write: its name in the archive and its file on disk.
type ArchiveFile struct {
	Name string
	Path string
}

// ImageFiles lists the regular files of an image directory as members under prefix.
func ImageFiles(dir, prefix string) ([]ArchiveFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []ArchiveFile
	for _, e := range entries {
		if e.Type().IsRegular() {
			files = append(files, ArchiveFile{Name: path.Join(prefix, e.Name()), Path: filepath.Join(dir, e.Name())})
		}
	}
	return files, nil
}

// WriteArchive writes files as a compressed tar to w, followed by the manifest
// with every member's size and SHA-256 (and an HMAC when key is set). Members
// keep mode 0600: they hold process memory.
func WriteArchive(w io.Writer, c Compression, files []ArchiveFile, meta *criu.Meta, key []byte) error {
	cw, err := compressor(w, c)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(cw)
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	m := &Manifest{Format: archiveFormat, Meta: meta}
	dirs := map[string]bool{}
	now := time.Now()
	for _, f := range files {
		if d := path.Dir(f.Name); d != "." && !dirs[d] {
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o700, ModTime: now}); err != nil {
				return err
			}
		}
		mm, err := writeMember(tw, f)
		if err != nil {
			return fmt.Errorf("archive %s: %w", f.Path, err)
		}
		m.Members = append(m.Members, mm)
	}
	if key != nil {
		if m.HMAC, err = m.sign(key); err != nil {
			return err
		}
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: ArchiveManifest, Mode: 0o600, Size: int64(len(data)), ModTime: now}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := tw.Write(data); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return cw.Close()
}

func writeMember(tw *tar.Writer, f ArchiveFile) (ManifestMember, error) {
	src, err := os.Open(f.Path)
	if err != nil {
		return ManifestMember{}, err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return ManifestMember{}, err
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: f.Name, Mode: 0o600, Size: st.Size(), ModTime: st.ModTime()}
	if err := tw.WriteHeader(hdr); err != nil {
		return ManifestMember{}, err
	}
	n, sum, err := copyHashed(tw, src)
	if err != nil {
		return ManifestMember{}, err
	}
	if n != st.Size() {
		return ManifestMember{}, fmt.Errorf("file changed size while archiving (%d != %d bytes)", n, st.Size())
	}
	return ManifestMember{Name: f.Name, Size: n, SHA256: sum}, nil
}
