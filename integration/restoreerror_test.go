package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRestoreErrorQuotesCause: a failed checkpoint prints its error first
// and CRIU's log quoted only with --debug; a restore that CRIU refuses names CRIU's own
// reason, which a restored task (not CRIU's main process) logs with a pid
// prefix, and the hint for it; the image stays restorable. Here: a checkpoint
// taken with --tcp-established, restored without the flag.
func TestRestoreErrorQuotesCause(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	id, bundle, replies, _ := startNetprog(t, e, "tcperr")

	// A failed checkpoint: one error, CRIU's line and the hint in it; the
	// log's quote (dozens of lines) only with --debug.
	r := e.MustFail("checkpoint", "--image-path", filepath.Join(e.Dir, "refused"), id)
	lines := strings.Split(strings.TrimSpace(r.Stderr), "\n")
	if !strings.Contains(lines[0], "level=error") || !strings.Contains(r.Stderr, "Connected TCP socket") ||
		!strings.Contains(r.Stderr, "hint: an established TCP connection") {
		t.Errorf("a failed checkpoint should print one error quoting CRIU's reason with a hint, first:\n%s", r)
	}
	if strings.Contains(r.Stderr, "Quoting") || strings.Contains(r.Stderr, "level=warning") {
		t.Errorf("a failed checkpoint prints warnings (CRIU's log quoted) without --debug:\n%s", r)
	}
	r = e.MustFail("--debug", "checkpoint", "--image-path", filepath.Join(e.Dir, "refused-debug"), id)
	if !strings.Contains(r.Stderr, "Quoting") || !strings.Contains(r.Stderr, "level=debug msg=\"--- Quoting") {
		t.Errorf("--debug should show CRIU's log quoted at debug level:\n%s", r)
	}
	e.ExpectStatus(id, "running")

	img := filepath.Join(e.Dir, "image")
	e.Checkpoint(id, img, "--tcp-established")

	r = e.MustFail("restore", "-d", "--bundle", bundle, "--image-path", img, id)
	if !strings.Contains(r.Stderr, "Connected TCP socket in image") {
		t.Errorf("the restore error does not quote CRIU's reason (\"Connected TCP socket in image\"):\n%s", r)
	}
	if !strings.Contains(r.Stderr, "hint:") || !strings.Contains(r.Stderr, "--tcp-established") {
		t.Errorf("the restore error gives no hint to use --tcp-established:\n%s", r)
	}
	if strings.Contains(r.Stderr, "Quoting") {
		t.Errorf("CRIU's log is quoted line by line without --debug:\n%s", r)
	}
	e.ExpectNothingLeft(id, "failed restore")

	// The root directory changed its mode since the checkpoint.
	rootfs := filepath.Join(bundle, "rootfs")
	st, err := os.Stat(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(rootfs, 0o700); err != nil {
		t.Fatal(err)
	}
	r = e.MustFail("restore", "-d", "--tcp-established", "--bundle", bundle, "--image-path", img, id)
	t.Logf("restore onto a chmod'ed rootfs:\n%s", r.Stderr)
	if !strings.Contains(r.Stderr, "has bad mode") || !strings.Contains(r.Stderr, "hint: a file the processes had open") {
		t.Errorf("the restore error does not quote CRIU's \"has bad mode\" with its hint:\n%s", r)
	}
	e.ExpectNothingLeft(id, "failed restore (bad mode)")
	if err := os.Chmod(rootfs, st.Mode().Perm()); err != nil {
		t.Fatal(err)
	}

	last := lastReply(t, replies)
	e.RestoreDetached(id, bundle, img, "--tcp-established")
	waitReplies(t, replies, last+3)
}
