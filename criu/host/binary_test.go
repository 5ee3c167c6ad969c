package host

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]int{
		"Version: 4.2.1\n":                  40201,
		"Version: 3.17\nGitID: v3.17-1\n":   31700,
		"Version: 4.2.1-rc2\n":              40201,
		"Foo\nVersion: 10.0.3\nGitID: x\n":  100003,
		"Version: 4.1.1-dirty\nGitID: v4\n": 40101,
	} {
		got, err := parseVersion([]byte(in))
		if err != nil || got != want {
			t.Errorf("%q: got %d %v, want %d", in, got, err, want)
		}
	}
	if _, err := parseVersion([]byte("criu something\n")); err == nil {
		t.Error("no Version line must be an error")
	}
	if FormatVersion(40201) != "4.2.1" {
		t.Error(FormatVersion(40201))
	}
}

func TestBinaryVersionReal(t *testing.T) {
	bin := needCriu(t)
	v, err := BinaryVersion(bin)
	if err != nil || v < MinVersion {
		t.Fatalf("%s: version %d %v", bin, v, err)
	}
}

// With an empty PATH (sudo, CI shells) criu is still found in sbin.
func TestFindBinaryFallback(t *testing.T) {
	bin := needCriu(t)
	t.Setenv("PATH", "")
	got, err := FindBinary("")
	if err != nil {
		t.Fatal(err)
	}
	if !sameFile(got, bin) {
		t.Fatalf("found %s, want %s", got, bin)
	}
}

func TestFindBinaryMissing(t *testing.T) {
	_, err := FindBinary(filepath.Join(t.TempDir(), "criu"))
	if err == nil || !strings.Contains(err.Error(), "make deps") {
		t.Fatalf("want an error naming `make deps`, got %v", err)
	}
	t.Setenv("PATH", t.TempDir())
	saved := fallbackPaths
	fallbackPaths = []string{filepath.Join(t.TempDir(), "nope")}
	defer func() { fallbackPaths = saved }()
	if _, err := FindBinary(""); err == nil || !strings.Contains(err.Error(), "install CRIU >= 4.2") {
		t.Fatalf("got %v", err)
	}
}
