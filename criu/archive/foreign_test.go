package archive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// podmanLike writes an archive laid out as Podman's `checkpoint --export`
// writes it (gzip, "./"-less names, directory entries, no manifest).
func podmanLike(t *testing.T, members map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "./", Mode: 0o755})
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "checkpoint/", Mode: 0o755})
	for name, body := range members {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write([]byte(body))
	}
	_ = tw.Close()
	_ = gz.Close()
	return buf.Bytes()
}

func TestExtractForeignArchive(t *testing.T) {
	podman := map[string]string{
		"checkpoint/inventory.img": "inv",
		"config.dump":              `{"id":"abc","name":"web","rootfsImageName":"localhost/busybox:latest","runtime":"runc"}`,
		"spec.dump":                `{"ociVersion":"1.0.2","annotations":{"io.container.manager":"libpod","io.kubernetes.cri-o.TTY":"false","io.kubernetes.cri.x":"y"}}`,
		"rootfs-diff.tar":          "",
	}
	crio := map[string]string{
		"checkpoint/inventory.img": "inv",
		"config.dump":              `{"id":"abc","name":"web","runtime":"runc"}`,
		"spec.dump":                `{"annotations":{"io.kubernetes.cri-o.ContainerID":"abc","io.kubernetes.cri.x":"y"}}`,
	}
	containerd := map[string]string{
		"checkpoint/inventory.img": "inv",
		"config.dump":              `{"id":"abc","name":"web","runtime":"runc"}`,
		"spec.dump":                `{"annotations":{"io.kubernetes.cri.container-type":"container"}}`,
	}
	for name, tc := range map[string]struct {
		members map[string]string
		origin  string
	}{"podman": {podman, "Podman"}, "crio": {crio, "CRI-O (Kubernetes)"}, "containerd": {containerd, "containerd (Kubernetes)"}} {
		t.Run(name, func(t *testing.T) {
			raw := podmanLike(t, tc.members)
			_, err := Extract(bytes.NewReader(raw), t.TempDir(), ExtractOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.origin+" checkpoint archive") || !strings.Contains(err.Error(), "--unverified") {
				t.Fatalf("without Unverified: want a refusal naming %s and --unverified, got %v", tc.origin, err)
			}
			dir := t.TempDir()
			m, err := Extract(bytes.NewReader(raw), dir, ExtractOptions{Unverified: true})
			if err != nil {
				t.Fatal(err)
			}
			if m.Foreign != tc.origin || len(m.Members) != len(tc.members) {
				t.Fatalf("manifest: origin %q, %d members; want %q, %d", m.Foreign, len(m.Members), tc.origin, len(tc.members))
			}
			if b, err := os.ReadFile(filepath.Join(dir, "checkpoint", "inventory.img")); err != nil || string(b) != "inv" {
				t.Fatalf("checkpoint/inventory.img: %q %v", b, err)
			}
			if _, err := Extract(bytes.NewReader(raw), t.TempDir(), ExtractOptions{Unverified: true, Key: bytes.Repeat([]byte("k"), 16)}); err == nil {
				t.Fatal("a key with an archive that cannot be signed must be refused")
			}
		})
	}
}

func TestExtractNotACheckpointArchive(t *testing.T) {
	for name, members := range map[string]map[string]string{
		"no images":         {"config.dump": "{}", "spec.dump": "{}"},
		"no spec":           {"checkpoint/inventory.img": "x", "config.dump": "{}"},
		"mycr, no manifest": {"checkpoint/mycr-checkpoint.json": "{}", "checkpoint/inventory.img": "x", "config.dump": "{}", "spec.dump": "{}"},
	} {
		_, err := Extract(bytes.NewReader(podmanLike(t, members)), t.TempDir(), ExtractOptions{Unverified: true})
		if err == nil || !strings.Contains(err.Error(), ArchiveManifest) {
			t.Errorf("%s: want a refusal naming %s, got %v", name, ArchiveManifest, err)
		}
	}
}

// Links stay refused in foreign archives too.
func TestExtractForeignRefusesLinks(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "checkpoint/x", Linkname: "/etc/shadow"})
	_ = tw.Close()
	if _, err := Extract(&buf, t.TempDir(), ExtractOptions{Unverified: true}); err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Fatalf("want a symlink refused, got %v", err)
	}
}
