package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const notVerified = "signature was NOT verified"

// TestSignedArchiveWithoutKey: a signed archive read without --archive-key
// (restore --import, inspect) works but says its signature was not verified and
// how to verify it; with the key, nothing is said. Inspect names the archive,
// not the temp dir it extracted it into.
func TestSignedArchiveWithoutKey(t *testing.T) {
	requireCRIU(t)
	src, dst := NewEnv(t), NewEnv(t)
	c := src.StartCounter("signed")
	key := filepath.Join(src.Dir, "archive.key")
	if err := os.WriteFile(key, []byte("0123456789abcdef-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(src.Dir, "signed.tar.zst")
	src.MustRun("checkpoint", "--archive-key", key, "--export", archive, c.ID)

	r := src.MustRun("inspect", archive)
	if !strings.Contains(r.Stdout, "images: "+archive) || strings.Contains(r.Stdout, "mycr-inspect-") {
		t.Errorf("inspect of an archive does not name the archive:\n%s", r)
	}
	if !strings.Contains(r.Stderr, notVerified) || !strings.Contains(r.Stderr, "--archive-key") {
		t.Errorf("inspect of a signed archive without its key does not say the signature was not verified and how to:\n%s", r)
	}
	var in struct{ Dir string }
	r = src.MustRun("inspect", "--format", "json", "--archive-key", key, archive)
	if err := json.Unmarshal([]byte(r.Stdout), &in); err != nil || in.Dir != archive {
		t.Errorf("inspect --format json: dir is %q (%v), want the archive %s", in.Dir, err, archive)
	}
	if strings.Contains(r.Stderr, notVerified) {
		t.Errorf("inspect with the key still says the signature was not verified:\n%s", r)
	}

	last := MustCounter(t, c.Count)
	vol := copyCount(t, dst, c)
	bundle := dst.CopyBundle(c.Bundle, map[string]string{c.Vol: vol})
	newID := dst.ID("unverified")
	r = dst.MustRun("restore", "-d", "--import", archive, "--bundle", bundle, newID)
	if !strings.Contains(r.Stderr, notVerified) {
		t.Errorf("restore --import of a signed archive without its key does not say the signature was not verified:\n%s", r)
	}
	dst.ExpectStatus(newID, "running")
	WaitCounterAbove(t, filepath.Join(vol, "count"), last+3, 10*time.Second)
}
