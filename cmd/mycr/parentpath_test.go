package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckParentPath: --parent-path is refused unless it is a directory relative to
// the image directory, and the error names the flag.
func TestCheckParentPath(t *testing.T) {
	dir := t.TempDir()
	images := filepath.Join(dir, "images")
	for _, d := range []string{images, filepath.Join(dir, "pre")} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		parent string
		ok     bool
	}{{"", true}, {"../pre", true}, {filepath.Join(dir, "pre"), false}, {"../missing", false}, {"../file", false}} {
		err := checkParentPath(images, c.parent)
		if c.ok != (err == nil) || err != nil && !strings.Contains(err.Error(), "--parent-path") {
			t.Errorf("checkParentPath(%q): %v", c.parent, err)
		}
	}
}
