package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestArchiveKeyFlag: the key file comes from --archive-key, else from
// MYCR_ARCHIVE_KEY_FILE, and reaches the restore and export options as an
// argument: the process environment is left as it was.
func TestArchiveKeyFlag(t *testing.T) {
	dir := t.TempDir()
	write := func(name, key string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(key+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fromEnv := write("env.key", "key-from-the-environment")
	fromFlag := write("flag.key", "key-from-the-command-line")
	t.Setenv("MYCR_ARCHIVE_KEY_FILE", fromEnv)
	global := []string{"--root", t.TempDir()}
	imp := []string{"--import", filepath.Join(dir, "a.tar")}

	_, ro, err := restoreOpts(verbContext(t, restoreCommand, global, imp), "c1")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ro.ImportKey, []byte("key-from-the-environment")) {
		t.Errorf("import key from MYCR_ARCHIVE_KEY_FILE: got %q", ro.ImportKey)
	}
	_, ro, err = restoreOpts(verbContext(t, restoreCommand, global, append([]string{"--archive-key", fromFlag}, imp...)), "c1")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ro.ImportKey, []byte("key-from-the-command-line")) {
		t.Errorf("import key from --archive-key: got %q", ro.ImportKey)
	}
	if got := os.Getenv("MYCR_ARCHIVE_KEY_FILE"); got != fromEnv {
		t.Errorf("MYCR_ARCHIVE_KEY_FILE changed to %q", got)
	}
	x, err := exportOpts(verbContext(t, checkpointCommand, global, []string{"--archive-key", fromFlag}), "out.tar")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(x.Key, []byte("key-from-the-command-line")) {
		t.Errorf("export key from --archive-key: got %q", x.Key)
	}
	short := write("short.key", "short")
	_, _, err = restoreOpts(verbContext(t, restoreCommand, global, append([]string{"--archive-key", short}, imp...)), "c1")
	if err == nil || !strings.Contains(err.Error(), "shorter than 16 bytes") {
		t.Errorf("a short key: got %v", err)
	}
}
