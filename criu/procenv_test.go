package criu

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mycr/mycr/criu/host"
)

func TestPrependPath(t *testing.T) {
	if got := prependPath("/a:/b:/c:/b", "/b"); got != "/b:/a:/c" {
		t.Fatal(got)
	}
	if got := prependPath("", "/x"); got != "/x" {
		t.Fatal(got)
	}
}

// A criu binary with another name is exposed as "criu" through a private
// symlink dir, and exec("criu") - what libcontainer does - then runs it.
func TestPrepareRenamedBinary(t *testing.T) {
	bin := needCriu(t)
	t.Setenv(host.EnvHWBreakpoints, host.HWWorks) // no probe needed here
	unsetEnv(t, "CRIU_FAULT")
	t.Setenv("PATH", "/usr/bin:/bin")
	other := filepath.Join(t.TempDir(), "criu-4.2.1")
	if err := os.Symlink(bin, other); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	e, err := Prepare(state, other)
	if err != nil {
		t.Fatal(err)
	}
	if e.Binary != other || e.Version < host.MinVersion {
		t.Fatalf("env %+v", e)
	}
	want := filepath.Join(state, "criu-bin")
	if first := filepath.SplitList(os.Getenv("PATH"))[0]; first != want {
		t.Fatalf("PATH=%s, want %s first", os.Getenv("PATH"), want)
	}
	found, err := exec.LookPath("criu")
	if err != nil || !sameFile(t, found, bin) {
		t.Fatalf("criu in PATH is %s (%v)", found, err)
	}
	if out, err := exec.Command("criu", "--version").Output(); err != nil || !strings.Contains(string(out), "Version:") {
		t.Fatalf("running criu from PATH: %v %s", err, out)
	}
	// Idempotent: a second Prepare does not grow PATH.
	path := os.Getenv("PATH")
	if _, err := Prepare(state, other); err != nil || os.Getenv("PATH") != path {
		t.Fatalf("second Prepare: %v, PATH %s -> %s", err, path, os.Getenv("PATH"))
	}
}

func sameFile(t *testing.T, a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}
