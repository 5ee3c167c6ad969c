package twohosts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTwoHosts: A reaches B through ssh over the bridge, B cannot see A's dir,
// and the bytes show up on the link.
func TestTwoHosts(t *testing.T) {
	if bin := Missing(); bin != "" {
		t.Skipf("needs %s", bin)
	}
	h, err := New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Stop()
	if err := h.Shape("100mbit"); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(h.A.Dir, "scratch", "secret")
	if err := os.WriteFile(secret, []byte("only on A"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := h.On(h.B, "cat", secret).CombinedOutput(); err == nil {
		t.Fatalf("host B reads A's dir: %s", out)
	}
	before, err := h.LinkBytes(h.B)
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.On(h.A, "sh", "-c", "head -c 1000000 /dev/zero | ssh hostb 'wc -c; echo $TMPDIR'").CombinedOutput()
	if err != nil {
		t.Fatalf("ssh A -> B: %v: %s", err, out)
	}
	if got := strings.Fields(string(out)); len(got) != 2 || got[0] != "1000000" || got[1] != h.B.Tmp() {
		t.Fatalf("B got %q, want 1000000 bytes and TMPDIR %s", out, h.B.Tmp())
	}
	after, err := h.LinkBytes(h.B)
	if err != nil {
		t.Fatal(err)
	}
	if after-before < 1000000 {
		t.Fatalf("only %d bytes crossed B's link for a 1 MB transfer", after-before)
	}
}
