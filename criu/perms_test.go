package criu

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mode(t *testing.T, p string) fs.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestPrepareImageDirCreates(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "a", "b", "img")
	if err := PrepareImageDir(dir); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(base, "a"), filepath.Join(base, "a", "b"), dir} {
		if m := mode(t, p); m != 0o700 {
			t.Errorf("%s: %v", p, m)
		}
	}
	// An existing, too open directory is tightened.
	os.Chmod(dir, 0o755)
	if err := PrepareImageDir(dir); err != nil || mode(t, dir) != 0o700 {
		t.Fatalf("%v %v", err, mode(t, dir))
	}
}

func TestPrepareImageDirRefuses(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "x")
	os.WriteFile(file, nil, 0o644)
	link := filepath.Join(base, "link")
	os.Symlink(t.TempDir(), link)
	sticky := filepath.Join(base, "tmp")
	os.Mkdir(sticky, 0o777)
	os.Chmod(sticky, 0o777|os.ModeSticky)
	for p, want := range map[string]string{
		file:   "image path " + file + " is a file, not a directory",
		link:   "is a symlink",
		sticky: "sticky",
	} {
		err := PrepareImageDir(p)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", p, err, want)
		}
		if err := SecureImageDir(p); err == nil {
			t.Errorf("SecureImageDir(%s) accepted it", p)
		}
	}
	if m := mode(t, sticky); m != 0o777 {
		t.Errorf("refused dir was changed: %v", m)
	}
}

// CRIU writes most images 0644; SecureImageDir closes them without following
// symlinks out of the directory.
func TestSecureImageDirRealImages(t *testing.T) {
	bin := needCriu(t)
	unsetEnv(t, "CRIU_FAULT")
	dir := t.TempDir()
	if err := PrepareImageDir(dir); err != nil {
		t.Fatal(err)
	}
	if logPath, err := criuDump(bin, startHelper(t, "sleep").Process.Pid, dir, dir); err != nil {
		t.Fatal(Explain(err, logPath))
	}
	outside := filepath.Join(t.TempDir(), "outside")
	os.WriteFile(outside, nil, 0o644)
	os.Symlink(outside, filepath.Join(dir, "link"))
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "sub", "f"), nil, 0o644)

	open := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, _ error) error {
		if d.Type().IsRegular() && mode(t, p)&0o077 != 0 {
			open++
		}
		return nil
	})
	if open == 0 {
		t.Log("note: CRIU wrote no group/world-readable image this time")
	}
	if err := SecureImageDir(dir); err != nil {
		t.Fatal(err)
	}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, _ error) error {
		switch {
		case d.IsDir() && mode(t, p) != 0o700, d.Type().IsRegular() && mode(t, p) != 0o600:
			t.Errorf("%s: %v", p, mode(t, p))
		}
		return nil
	})
	if m := mode(t, outside); m != 0o644 {
		t.Errorf("symlink was followed: outside file is %v", m)
	}
}
