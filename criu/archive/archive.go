package archive

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	kgzip "github.com/klauspost/compress/gzip"

	"github.com/mycr/mycr/criu"

	"github.com/klauspost/compress/zstd"
)

// Member names of a checkpoint archive. They follow Podman's layout, which
// checkpointctl reads: images under checkpoint/, the container's config.dump
// and spec.dump, rootfs-diff.tar and deleted.files, stats-dump; containerd adds
// status.dump.
const (
	ArchiveImagesDir   = "checkpoint"
	ArchiveConfigDump  = "config.dump"
	ArchiveSpecDump    = "spec.dump"
	ArchiveRootfsDiff  = "rootfs-diff.tar"
	ArchiveDeleted     = "deleted.files"
	ArchiveStatsDump   = "stats-dump"
	ArchiveStatusDump  = "status.dump" // containerd's (statusdump.go)
	ArchiveManifest    = "mycr-manifest.json"
	archiveFormat      = 1
	defaultMaxArchived = 256 << 30 // refuse members claiming more than this
)

// Compression of an archive: an algorithm, optionally with a level
// ("zstd:19", "gzip:1"); the plain names use each one's default level.
type Compression string

const (
	Zstd Compression = "zstd"
	Gzip Compression = "gzip"
	None Compression = "none"
)

// ParseCompression checks a --compress value.
func ParseCompression(s string) (Compression, error) {
	if s == "" {
		return Zstd, nil
	}
	algo, lvl, hasLevel := strings.Cut(s, ":")
	maxLevel := map[Compression]int{Zstd: 22, Gzip: 9}[Compression(algo)]
	switch {
	case Compression(algo) != Zstd && Compression(algo) != Gzip && Compression(algo) != None:
		return "", fmt.Errorf("unknown compression %q: use zstd, gzip or none, optionally with a level (zstd:1..22, gzip:1..9)", s)
	case !hasLevel:
		return Compression(algo), nil
	case maxLevel == 0:
		return "", fmt.Errorf("compression %q: %s takes no level", s, algo)
	}
	n, err := strconv.Atoi(lvl)
	if err != nil || n < 1 || n > maxLevel {
		return "", fmt.Errorf("compression %q: the %s level must be 1..%d", s, algo, maxLevel)
	}
	return Compression(fmt.Sprintf("%s:%d", algo, n)), nil
}

// split returns the algorithm and the level (0: its default).
func (c Compression) split() (Compression, int) {
	algo, lvl, _ := strings.Cut(string(c), ":")
	n, _ := strconv.Atoi(lvl)
	return Compression(algo), n
}

// Manifest lists every member with its checksum; it is the archive's last member.
// With a key, HMAC authenticates the member list (a checksum alone only proves
// the archive was not corrupted, not that nobody rewrote it).
type Manifest struct {
	Format  int              `json:"format"`
	Meta    *criu.Meta       `json:"meta,omitempty"`
	Members []ManifestMember `json:"members"`
	HMAC    string           `json:"hmac,omitempty"`
	// Foreign names the tool that made an archive without a mycr manifest
	// ("Podman", "CRI-O", ...; foreign.go): its members are listed, unverified.
	Foreign string `json:"-"`
}

// ManifestMember is one archived file.
type ManifestMember struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// sign computes the HMAC-SHA256 of the member list under key.
func (m *Manifest) sign(key []byte) (string, error) {
	body, err := json.Marshal(struct {
		Format  int
		Meta    *criu.Meta
		Members []ManifestMember
	}{m.Format, m.Meta, m.Members})
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil)), nil
}

// ArchiveKey reads the optional archive key from the file at path (nil if
// path is ""): the CLI's --archive-key, or MYCR_ARCHIVE_KEY_FILE.
func ArchiveKey(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("archive key: %w", err)
	}
	key = bytes.TrimSpace(key)
	if len(key) < 16 {
		return nil, fmt.Errorf("archive key %s is shorter than 16 bytes", path)
	}
	return key, nil
}

// compressor wraps w in the chosen compression, compressing on every core.
// zstd's levels map to klauspost's four speeds (1, 2-5, 6-9, 10-22).
func compressor(w io.Writer, c Compression) (io.WriteCloser, error) {
	algo, lvl := c.split()
	switch algo {
	case Zstd:
		level := zstd.SpeedDefault
		if lvl != 0 {
			level = zstd.EncoderLevelFromZstd(lvl)
		}
		return parallelZstd(w, level)
	case Gzip:
		if lvl == 0 {
			lvl = kgzip.DefaultCompression
		}
		return parallelGzip(w, lvl)
	}
	return nopWriteCloser{w}, nil
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// decompressor recognises zstd, gzip or a plain tar by the first bytes.
func decompressor(r io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReader(r)
	head, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		d, err := zstd.NewReader(br)
		if err != nil {
			return nil, nil, err
		}
		return d, d.Close, nil
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		g, err := kgzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("archive: %w", err)
		}
		return g, func() { g.Close() }, nil
	}
	return br, func() {}, nil
}
