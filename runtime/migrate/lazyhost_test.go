package migrate

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPinPageServer: `criu swrk` is pointed at a config that keeps the user's
// CRIU_CONFIG_FILE lines first and adds the address; undo puts the user's back.
func TestPinPageServer(t *testing.T) {
	user := filepath.Join(t.TempDir(), "user.conf")
	if err := os.WriteFile(user, []byte("tcp-established"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, prev := range []string{user, ""} {
		t.Setenv("CRIU_CONFIG_FILE", prev)
		if prev == "" {
			os.Unsetenv("CRIU_CONFIG_FILE")
		}
		dir := t.TempDir()
		undo, err := pinPageServer(dir, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		path := os.Getenv("CRIU_CONFIG_FILE")
		got, _ := os.ReadFile(path)
		want := "address 127.0.0.1\n"
		if prev != "" {
			want = "tcp-established\n" + want
		}
		if path != filepath.Join(dir, "mycr-criu.conf") || string(got) != want {
			t.Errorf("with %q: CRIU_CONFIG_FILE=%s holding %q, want %q", prev, path, got, want)
		}
		undo()
		now, set := os.LookupEnv("CRIU_CONFIG_FILE")
		if now != prev || set != (prev != "") {
			t.Errorf("after undo: CRIU_CONFIG_FILE=%q (set %v), want %q", now, set, prev)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("undo left %s: %v", path, err)
		}
	}
}
