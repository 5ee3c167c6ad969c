package archive

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mycr/mycr/criu"
)

// writeImageLike writes size bytes shaped like dumped memory: every 4 KiB page
// half pseudo-random, half zeros (about 2:1 compressible).
func writeImageLike(t testing.TB, path string, size int) {
	t.Helper()
	data := make([]byte, size)
	rng := rand.New(rand.NewSource(1))
	for p := 0; p+4096 <= size; p += 4096 {
		rng.Read(data[p : p+2048])
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// archiveFixture is an image dir with one large pages image and small others.
func archiveFixture(t testing.TB, size int) []ArchiveFile {
	dir := filepath.Join(t.TempDir(), "images")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	writeImageLike(t, filepath.Join(dir, "pages-1.img"), size)
	for _, n := range []string{"core-1.img", "mm-1.img", "empty.img"} {
		body := []byte(n)
		if n == "empty.img" {
			body = nil
		}
		if err := os.WriteFile(filepath.Join(dir, n), body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	files, err := ImageFiles(dir, ArchiveImagesDir)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// writeArchiveFile writes files as an archive at path.
func writeArchiveFile(t testing.TB, path string, c Compression, files []ArchiveFile) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := WriteArchive(f, c, files, nil, nil); err != nil {
		t.Fatal(err)
	}
}

// TestArchiveRoundTrip: every compression and level gives back the same bytes,
// and a flipped byte in a member is caught by its checksum.
func TestArchiveRoundTrip(t *testing.T) {
	files := archiveFixture(t, 3<<20+123)
	for _, c := range []string{"none", "gzip", "gzip:1", "zstd", "zstd:1", "zstd:19"} {
		t.Run(c, func(t *testing.T) {
			comp, err := ParseCompression(c)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := WriteArchive(&buf, comp, files, &criu.Meta{ID: "x"}, nil); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			m, err := Extract(bytes.NewReader(buf.Bytes()), dir, ExtractOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Members) != len(files) {
				t.Fatalf("%d members, want %d", len(m.Members), len(files))
			}
			for _, f := range files {
				want, _ := os.ReadFile(f.Path)
				got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Name)))
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("%s differs after the round trip (%v)", f.Name, err)
				}
			}
		})
	}
	var buf bytes.Buffer
	if err := WriteArchive(&buf, None, files, &criu.Meta{ID: "x"}, nil); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	raw[len(raw)/2] ^= 0xff // inside the pages image's data
	if _, err := Extract(bytes.NewReader(raw), t.TempDir(), ExtractOptions{}); err == nil {
		t.Fatal("a corrupted archive was accepted")
	}
}

func TestParseCompressionLevels(t *testing.T) {
	for _, bad := range []string{"zstd:0", "zstd:23", "zstd:x", "gzip:10", "none:1", "lz4"} {
		if _, err := ParseCompression(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if c, err := ParseCompression(""); err != nil || c != Zstd {
		t.Errorf("default: %q %v", c, err)
	}
}

// TestArchiveReadByTar: the parallel compressors' runs of zstd frames and gzip
// members are one stream to the usual tools (GNU tar with zstd and gzip).
func TestArchiveReadByTar(t *testing.T) {
	files := archiveFixture(t, 9<<20) // more than two compression chunks
	for c, flag := range map[Compression]string{Zstd: "--zstd", Gzip: "--gzip"} {
		if _, err := exec.LookPath(string(c)); err != nil {
			t.Logf("no %s here: skipped", c)
			continue
		}
		arch := filepath.Join(t.TempDir(), "a.tar")
		writeArchiveFile(t, arch, c, files)
		dir := t.TempDir()
		if out, err := exec.Command("tar", "-x", flag, "-f", arch, "-C", dir).CombinedOutput(); err != nil {
			t.Fatalf("tar %s: %v: %s", flag, err, out)
		}
		want, _ := os.ReadFile(files[len(files)-1].Path)
		got, err := os.ReadFile(filepath.Join(dir, files[len(files)-1].Name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: tar extracted a different %s (%v)", c, files[len(files)-1].Name, err)
		}
	}
}

// BenchmarkWriteArchive packs a 256 MiB image-like file into an archive on disk.
func BenchmarkWriteArchive(b *testing.B) {
	files := archiveFixture(b, 256<<20)
	for _, c := range []string{"none", "zstd:1", "zstd", "gzip"} {
		b.Run(c, func(b *testing.B) {
			comp, err := ParseCompression(c)
			if err != nil {
				b.Fatal(err)
			}
			out := filepath.Join(b.TempDir(), "a.tar")
			b.SetBytes(256 << 20)
			for i := 0; i < b.N; i++ {
				writeArchiveFile(b, out, comp, files)
			}
			if st, err := os.Stat(out); err == nil {
				b.ReportMetric(float64(st.Size())/(256<<20), "size/raw")
			}
		})
	}
}

// BenchmarkExtract unpacks such an archive into a directory on disk.
func BenchmarkExtract(b *testing.B) {
	files := archiveFixture(b, 256<<20)
	for _, c := range []string{"none", "zstd", "gzip"} {
		b.Run(c, func(b *testing.B) {
			comp, _ := ParseCompression(c)
			arch := filepath.Join(b.TempDir(), "a.tar")
			writeArchiveFile(b, arch, comp, files)
			b.SetBytes(256 << 20)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dir := filepath.Join(b.TempDir(), "x")
				os.Mkdir(dir, 0o700)
				in, _ := os.Open(arch)
				b.StartTimer()
				if _, err := Extract(in, dir, ExtractOptions{}); err != nil {
					b.Fatal(err)
				}
				in.Close()
			}
		})
	}
}

// TestCopyHashed: sizes around the chunk size hash like crypto/sha256, and a
// failing writer's error comes back.
func TestCopyHashed(t *testing.T) {
	for _, size := range []int{0, 1, copyChunk - 1, copyChunk, 3*copyChunk + 5} {
		data := bytes.Repeat([]byte{7, 1, 9}, size/3+1)[:size]
		var out bytes.Buffer
		n, sum, err := copyHashed(&out, bytes.NewReader(data))
		want := sha256.Sum256(data)
		if err != nil || n != int64(size) || sum != hex.EncodeToString(want[:]) || !bytes.Equal(out.Bytes(), data) {
			t.Errorf("size %d: n %d, err %v, sum ok %v, copy ok %v", size, n, err, sum == hex.EncodeToString(want[:]), bytes.Equal(out.Bytes(), data))
		}
	}
	if _, _, err := copyHashed(failingWriter{}, bytes.NewReader(make([]byte, 3*copyChunk))); err == nil {
		t.Error("a failing writer went unnoticed")
	}
}

// TestWriteArchiveFailingWriter: a full disk under a parallel compressor fails the export.
func TestWriteArchiveFailingWriter(t *testing.T) {
	files := archiveFixture(t, 9<<20)
	for _, c := range []Compression{None, Zstd, Gzip} {
		if err := WriteArchive(failingWriter{}, c, files, nil, nil); err == nil {
			t.Errorf("%s: a failing writer went unnoticed", c)
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }
