package archive

import (
	"archive/tar"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// ExtractOptions bound and authenticate an extraction.
type ExtractOptions struct {
	Key     []byte // verify the manifest's HMAC (required when set)
	MaxSize int64  // total bytes; 0 = defaultMaxArchived
	// Unverified accepts an archive without a mycr manifest that has the layout
	// of Podman's or Kubernetes' checkpoint archives (foreign.go).
	Unverified bool
}

// ExtractArchive extracts the archive at path ("-" = stdin) into dir, verifying
// it, and its signature with o.Key if not nil (ArchiveKey).
func ExtractArchive(archive, dir string, o ExtractOptions) (*Manifest, error) {
	var r io.Reader = os.Stdin
	if archive != "-" {
		f, err := os.Open(archive)
		if err != nil {
			return nil, fmt.Errorf("open archive: %w", err)
		}
		defer f.Close()
		r = f
	}
	name := archive
	if name == "-" {
		name = "on stdin"
	}
	return ExtractNamed(r, name, dir, o)
}

// ExtractNamed is Extract with warnings that name the archive: one that cannot
// be verified (another tool's), one signed but read without a key.
func ExtractNamed(r io.Reader, name, dir string, o ExtractOptions) (*Manifest, error) {
	m, err := Extract(r, dir, o)
	if err == nil && m.Foreign != "" {
		logrus.Warnf("archive %s was made by %s: it has no checksums or signature and was NOT verified (--unverified)", name, m.Foreign)
	}
	if err == nil && o.Key == nil && m.HMAC != "" {
		// Checksums only prove it is not corrupt: a signed archive is worth
		// its signature only when someone checks it.
		logrus.Warnf("archive %s is signed, but its signature was NOT verified: pass --archive-key FILE "+
			"(or set MYCR_ARCHIVE_KEY_FILE) with the key it was signed with to verify it", name)
	}
	return m, err
}

// Extract unpacks a checkpoint archive into dir (which must exist, private) and
// verifies every member against the manifest before returning it: nothing from
// an archive is used until all of it checked out. Only plain files and
// directories with clean relative names are accepted; anything else (absolute
// paths, "..", links, devices, oversize members) is refused.
func Extract(r io.Reader, dir string, o ExtractOptions) (*Manifest, error) {
	if o.MaxSize <= 0 {
		o.MaxSize = defaultMaxArchived
	}
	dr, closeFn, err := decompressor(r)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	tr := tar.NewReader(dr)
	got := map[string]ManifestMember{}
	var manifest *Manifest
	var total int64
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("archive is not a valid checkpoint archive: %w", err)
		}
		if hdr.Typeflag == tar.TypeDir && path.Clean(hdr.Name) == "." {
			continue // "./", as other tools write it
		}
		name, err := memberName(hdr.Name)
		if err != nil {
			return nil, err
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(filepath.Join(dir, name), 0o700); err != nil {
				return nil, err
			}
			continue
		case tar.TypeReg:
		default:
			return nil, fmt.Errorf("archive member %q is a %s: only files and directories are allowed", hdr.Name, typeName(hdr.Typeflag))
		}
		if hdr.Size < 0 || hdr.Size > o.MaxSize-total {
			return nil, fmt.Errorf("archive member %q claims %d bytes, over the %d byte limit", hdr.Name, hdr.Size, o.MaxSize)
		}
		total += hdr.Size
		if name == ArchiveManifest {
			if manifest, err = readManifest(tr, hdr.Size); err != nil {
				return nil, err
			}
			continue
		}
		if _, dup := got[name]; dup {
			return nil, fmt.Errorf("archive member %q appears twice", name)
		}
		mm, err := extractFile(tr, dir, name, hdr.Size)
		if err != nil {
			return nil, err
		}
		got[name] = mm
	}
	if manifest == nil {
		if o.Key != nil {
			return nil, fmt.Errorf("archive has no %s, so no signature, but a key was given: refused", ArchiveManifest)
		}
		return foreign(dir, got, o.Unverified)
	}
	return manifest, verify(manifest, got, o.Key)
}

// memberName cleans a member name and refuses names that leave the archive.
func memberName(raw string) (string, error) {
	n := strings.TrimSuffix(raw, "/")
	switch {
	case n == "" || strings.ContainsRune(n, 0):
		return "", fmt.Errorf("archive member %q has an invalid name", raw)
	case path.IsAbs(n):
		return "", fmt.Errorf("archive member %q is an absolute path: refused", raw)
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return "", fmt.Errorf("archive member %q leaves the archive (..): refused", raw)
		}
	}
	clean := path.Clean(n)
	if clean == "." {
		return "", fmt.Errorf("archive member %q has an invalid name", raw)
	}
	return clean, nil
}

func typeName(t byte) string {
	switch t {
	case tar.TypeSymlink:
		return "symlink"
	case tar.TypeLink:
		return "hard link"
	case tar.TypeChar, tar.TypeBlock:
		return "device node"
	case tar.TypeFifo:
		return "fifo"
	}
	return fmt.Sprintf("entry of type %q", t)
}

func readManifest(r io.Reader, size int64) (*Manifest, error) {
	if size > 16<<20 {
		return nil, errors.New("archive manifest is larger than 16 MiB: refused")
	}
	var m Manifest
	if err := json.NewDecoder(io.LimitReader(r, size)).Decode(&m); err != nil {
		return nil, fmt.Errorf("archive manifest is corrupt: %w", err)
	}
	if m.Format < 1 || m.Format > archiveFormat {
		return nil, fmt.Errorf("archive format %d is not supported by this mycr (knows %d)", m.Format, archiveFormat)
	}
	return &m, nil
}

// extractFile writes one member below dir (0600, never through a symlink).
func extractFile(r io.Reader, dir, name string, size int64) (ManifestMember, error) {
	dst := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return ManifestMember{}, err
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return ManifestMember{}, fmt.Errorf("extract %s: %w", name, err)
	}
	n, sum, err := copyHashed(f, io.LimitReader(r, size))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return ManifestMember{}, fmt.Errorf("extract %s: %w", name, err)
	}
	if n != size {
		return ManifestMember{}, fmt.Errorf("archive member %s is truncated (%d of %d bytes)", name, n, size)
	}
	return ManifestMember{Name: name, Size: n, SHA256: sum}, nil
}

// verify compares what was extracted with the manifest, member by member.
func verify(m *Manifest, got map[string]ManifestMember, key []byte) error {
	if key != nil {
		if m.HMAC == "" {
			return errors.New("archive is not signed, but a key was given: refused")
		}
		want, err := m.sign(key)
		if err != nil {
			return err
		}
		if !hmac.Equal([]byte(want), []byte(m.HMAC)) {
			return errors.New("archive signature does not match the key: the archive was altered or signed with another key")
		}
	}
	listed := map[string]bool{}
	for _, mm := range m.Members {
		listed[mm.Name] = true
		g, ok := got[mm.Name]
		switch {
		case !ok:
			return fmt.Errorf("archive member %s is listed in the manifest but missing (truncated archive?)", mm.Name)
		case g.Size != mm.Size || g.SHA256 != mm.SHA256:
			return fmt.Errorf("archive member %s fails its checksum: the archive is corrupt or was altered", mm.Name)
		}
	}
	for name := range got {
		if !listed[name] {
			return fmt.Errorf("archive member %s is not in the manifest: the archive was altered", name)
		}
	}
	return nil
}
