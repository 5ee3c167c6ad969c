package oci

import (
	"archive/tar"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestPushPull(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	path := filepath.Join(t.TempDir(), "a.tar")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	_ = tw.WriteHeader(&tar.Header{Name: "config.dump", Mode: 0o600, Size: 2, Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte("{}"))
	_ = tw.Close()
	_ = f.Close()

	ref, isOCI, err := Ref("oci:" + host + "/ckpt/c1:v1")
	if err != nil || !isOCI {
		t.Fatalf("Ref: %v %v", isOCI, err)
	}
	if err := CheckPush(ref); err != nil {
		t.Fatal(err)
	}
	if err := Push(ref, path, map[string]string{AnnotationName: "c1"}); err != nil {
		t.Fatal(err)
	}
	rc, ann, err := Pull(ref)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	hdr, err := tar.NewReader(rc).Next()
	if err != nil || hdr.Name != "config.dump" || ann[AnnotationName] != "c1" {
		t.Fatalf("pulled layer: %v %v, annotations %v", hdr, err, ann)
	}

	plain, _, _ := Ref(host + "/plain/img:v1")
	if err := remote.Write(plain, empty.Image); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Pull(plain); err == nil || !strings.Contains(err.Error(), "not a checkpoint image") {
		t.Fatalf("an image without the annotation: want refused, got %v", err)
	}
	if _, _, err := Ref("oci:UPPER/Case::x"); err == nil {
		t.Fatal("a bad reference must be refused")
	}
}
