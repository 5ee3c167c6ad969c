package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateID(t *testing.T) {
	for _, bad := range []string{"", ".", "..", "a/b", "../x", "a\x00b", ".hidden", strings.Repeat("x", 2000), strings.Repeat("x", 201), "a b"} {
		if err := ValidateID(bad); err == nil {
			t.Errorf("ValidateID(%q) accepted", bad)
		}
	}
	for _, good := range []string{"a", "web-1", "c_2.x", "0123456789abcdef", strings.Repeat("x", MaxIDLength)} {
		if err := ValidateID(good); err != nil {
			t.Errorf("ValidateID(%q): %v", good, err)
		}
	}
}

func writeBundle(t *testing.T, config string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if config != "" {
		if err := os.WriteFile(filepath.Join(dir, ConfigName), []byte(config), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadErrors(t *testing.T) {
	cases := map[string]struct{ config, want string }{
		"missing":   {"", "not found"},
		"malformed": {"{", "not valid JSON"},
		"null":      {"null", "cannot be null"},
		"noroot":    {`{"process":{"cwd":"/","args":["sh"]},"linux":{}}`, "root.path is missing"},
		"noprocess": {`{"root":{"path":"rootfs"},"linux":{}}`, "process property"},
		"relcwd":    {`{"root":{"path":"rootfs"},"process":{"cwd":"x","args":["sh"]},"linux":{}}`, "absolute"},
		"norootfs":  {`{"root":{"path":"nope"},"process":{"cwd":"/","args":["sh"]},"linux":{}}`, "root filesystem"},
	}
	for name, c := range cases {
		_, err := Load(writeBundle(t, c.config))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want error containing %q", name, err, c.want)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "absent")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing bundle: %v", err)
	}
}

func TestLoadHuge(t *testing.T) {
	dir := writeBundle(t, "")
	big := `{"x":"` + strings.Repeat("a", maxConfigSize) + `"}`
	if err := os.WriteFile(filepath.Join(dir, ConfigName), []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("huge config: %v", err)
	}
}

func TestDefaultRoundTrip(t *testing.T) {
	dir := writeBundle(t, "")
	if err := WriteDefault(dir, false); err != nil {
		t.Fatal(err)
	}
	if err := WriteDefault(dir, false); err == nil {
		t.Fatal("overwrote an existing config.json")
	}
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Root.Path != "rootfs" || s.Process.Args[0] != "sh" {
		t.Fatalf("unexpected default: %+v", s.Root)
	}
}
