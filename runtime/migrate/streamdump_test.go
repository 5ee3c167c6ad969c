package migrate

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A pages image that grows while CRIU dumps arrives whole on the target, its
// size told at the end; the other images are not touched.
func TestStreamGrowingPages(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	r, w := io.Pipe()
	sender, target := newWire(nil, w, w), startDemux(newWire(r, io.Discard, nil), func(byte, []byte) {})
	ended := make(chan bool, 1)
	want := bytes.Repeat([]byte("0123456789abcdef"), 1<<17) // 2 MiB in 16 steps
	go func() {
		f, _ := os.Create(filepath.Join(src, "pages-1.img"))
		for i := 0; i < 16; i++ {
			_, _ = f.Write(want[i<<17 : (i+1)<<17])
			time.Sleep(10 * time.Millisecond)
		}
		f.Close()
		_ = os.WriteFile(filepath.Join(src, "pages-2.img"), []byte("later"), 0o600)
		ended <- true
	}()
	sent := goStreamGrowingPages(sender, src, ended)
	f, err := target.next()
	if err != nil || f.kind != frameFile {
		t.Fatalf("first frame: %d %v", f.kind, err)
	}
	var wf wireFile
	if err := json.Unmarshal(f.data, &wf); err != nil || wf.Size != growingSize || wf.Name != "pages-1.img" {
		t.Fatalf("announced %+v %v", wf, err)
	}
	if n, err := receiveFile(target, dst, wf); err != nil || n != int64(len(want)) {
		t.Fatalf("received %d bytes: %v", n, err)
	}
	if got, _ := os.ReadFile(filepath.Join(dst, "pages-1.img")); !bytes.Equal(got, want) {
		t.Fatalf("the streamed image differs (%d bytes, want %d)", len(got), len(want))
	}
	if s := <-sent; s.err != nil || s.name != "pages-1.img" || s.n != int64(len(want)) {
		t.Fatalf("sender: %+v", s)
	}
}

// A dump that fails ends the stream without declaring the file complete.
func TestStreamGrowingPagesDumpFailed(t *testing.T) {
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "pages-1.img"), []byte("part"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	ended := make(chan bool, 1)
	ended <- false
	name, _, err := streamGrowingPages(newWire(nil, &out, nil), src, ended)
	if err != nil || name != "" {
		t.Fatalf("after a failed dump: %q %v", name, err)
	}
	if bytes.Contains(out.Bytes(), []byte{frameFileEnd}) && bytes.Contains(out.Bytes(), []byte(`"size":4`)) {
		t.Fatal("a file of a failed dump was declared complete")
	}
}
