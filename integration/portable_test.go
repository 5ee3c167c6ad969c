package integration

import (
	"archive/tar"
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// copyCount makes a new volume holding a copy of the counter file (the volume
// "moved" with the container).
func copyCount(t *testing.T, e *Env, c *Counter) string {
	t.Helper()
	vol := e.Mkdir("vol-moved")
	data, err := os.ReadFile(c.Count)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(vol, "count"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return vol
}

// TestExportImportAnotherRoot: a checkpoint exported as one archive restores under
// another state root (a second "host"), another bundle, another ID and another
// volume path; the rootfs change made in the container travels in the archive.
func TestExportImportAnotherRoot(t *testing.T) {
	requireCRIU(t)
	src, dst := NewEnv(t), NewEnv(t)
	c := src.StartCounter("export", Edit(func(s *specs.Spec) { s.Root.Readonly = false }))
	src.MustRun("exec", c.ID, "sh", "-c", "echo moved-along > /etc/marker")
	archive := filepath.Join(src.Dir, "ckpt.tar.zst")
	src.MustRun("checkpoint", "--export", archive, c.ID)
	src.ExpectCheckpointedAway(c.ID, c.Pid)
	if st, err := os.Stat(archive); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("archive %s: %v (mode must be 0600)", archive, err)
	}
	last := ExpectCounterStill(t, c.Count, 300*time.Millisecond)

	vol := copyCount(t, dst, c)
	bundle := dst.CopyBundle(c.Bundle, map[string]string{c.Vol: vol})
	if _, err := os.Stat(filepath.Join(bundle, "rootfs/etc/marker")); err == nil {
		t.Fatal("the new bundle must not have the marker before the import")
	}
	newID := dst.ID("imported")
	dst.MustRun("restore", "-d", "--import", archive, "--bundle", bundle, newID)
	dst.ExpectStatus(newID, "running")
	WaitCounterAbove(t, filepath.Join(vol, "count"), last+5, 5*time.Second)
	if got := dst.MustRun("exec", newID, "cat", "/etc/marker").Stdout; !strings.Contains(got, "moved-along") {
		t.Fatalf("rootfs change not carried by the archive: /etc/marker = %q", got)
	}
	if MustCounter(t, c.Count) != last {
		t.Fatal("the old volume changed: the restored container writes to the wrong place")
	}
	src.ExpectNoState("source root after export")
}

// TestExportImportStream: checkpoint --export - | restore --import -, as over ssh.
func TestExportImportStream(t *testing.T) {
	requireCRIU(t)
	src, dst := NewEnv(t), NewEnv(t)
	c := src.StartCounter("stream")
	vol := copyCount(t, dst, c)
	bundle := dst.CopyBundle(c.Bundle, map[string]string{c.Vol: vol})
	newID := dst.ID("streamed")
	exp := exec.Command(mycrBin, append(src.globals(), "checkpoint", "--compress", "gzip", "--export", "-", c.ID)...)
	imp := exec.Command(mycrBin, append(dst.globals(), "restore", "-d", "--import", "-", "--bundle", bundle, newID)...)
	pipe, err := exp.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	imp.Stdin = pipe
	// Files, not buffers: the restored container inherits restore's stderr and
	// would keep a pipe open forever.
	expErr, impErr := logFile(t, src, "export.err"), logFile(t, dst, "import.err")
	exp.Stderr, imp.Stderr = expErr, impErr
	if err := exp.Start(); err != nil {
		t.Fatal(err)
	}
	impRun := imp.Run()
	if err := exp.Wait(); err != nil || impRun != nil {
		t.Fatalf("export: %v %s; import: %v %s", err, readFile(expErr.Name()), impRun, readFile(impErr.Name()))
	}
	last := MustCounter(t, c.Count)
	dst.ExpectStatus(newID, "running")
	WaitCounterAbove(t, filepath.Join(vol, "count"), last+3, 5*time.Second)
}

// TestImportRefusesBadArchives: a tampered member, escaping names, links and
// devices are refused before anything is created.
func TestImportRefusesBadArchives(t *testing.T) {
	requireCRIU(t)
	src, dst := NewEnv(t), NewEnv(t)
	c := src.StartCounter("tamper")
	good := filepath.Join(src.Dir, "good.tar")
	src.MustRun("checkpoint", "--leave-running", "--compress", "none", "--export", good, c.ID)
	bundle := dst.CopyBundle(c.Bundle, nil)

	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"tampered":  flipInMember(t, data, "checkpoint/pages-1.img"),
		"truncated": data[:len(data)/2],
		"dotdot":    tarWith(t, &tar.Header{Name: "../escape", Typeflag: tar.TypeReg, Size: 1, Mode: 0o600}),
		"absolute":  tarWith(t, &tar.Header{Name: "/etc/escape", Typeflag: tar.TypeReg, Size: 1, Mode: 0o600}),
		"symlink":   tarWith(t, &tar.Header{Name: "checkpoint/x", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}),
		"device":    tarWith(t, &tar.Header{Name: "checkpoint/dev", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}),
		"huge":      tarWith(t, &tar.Header{Name: "checkpoint/big", Typeflag: tar.TypeReg, Size: 1 << 40, Mode: 0o600}),
	}
	want := map[string]string{"tampered": "checksum", "truncated": "", "dotdot": "..", "absolute": "absolute",
		"symlink": "symlink", "device": "device", "huge": "limit"}
	for name, archive := range cases {
		path := filepath.Join(dst.Dir, name+".tar")
		if err := os.WriteFile(path, archive, 0o600); err != nil {
			t.Fatal(err)
		}
		r := dst.MustFail("restore", "-d", "--import", path, "--bundle", bundle, dst.ID(name))
		if !strings.Contains(r.Stderr, want[name]) {
			t.Errorf("%s archive: error does not say %q:\n%s", name, want[name], r)
		}
	}
	dst.ExpectNoState("after refused imports")
	if _, err := os.Stat("/etc/escape"); err == nil {
		t.Fatal("an archive member was written outside the extraction dir")
	}
}

// flipInMember corrupts one byte of a member of an uncompressed tar.
func flipInMember(t *testing.T, data []byte, member string) []byte {
	t.Helper()
	out := append([]byte(nil), data...)
	tr := tar.NewReader(bytes.NewReader(data))
	for off := int64(0); ; {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("member %s not found: %v", member, err)
		}
		// The data of this member starts at the next 512-byte block after its header.
		if hdr.Name == member {
			idx := bytes.Index(out[off:], []byte(member))
			start := off + int64(idx) - int64(idx%512) + 512
			out[start+10] ^= 0xff
			return out
		}
		off += 512 + (hdr.Size+511)/512*512
	}
}

func tarWith(t *testing.T, hdr *tar.Header) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(hdr); err != nil {
		t.Fatal(err)
	}
	if hdr.Typeflag == tar.TypeReg && hdr.Size < 1<<20 {
		tw.Write(bytes.Repeat([]byte("x"), int(hdr.Size)))
	}
	tw.Flush()
	return b.Bytes()
}

// TestRestoreRemapMissingBindSource: restoring where a volume's host path is missing
// fails before creating anything and says how to fix it; --remap-mount fixes it.
func TestRestoreRemapMissingBindSource(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	c := e.StartCounter("remap")
	img := filepath.Join(e.Dir, "image")
	e.Checkpoint(c.ID, img)
	last := ExpectCounterStill(t, c.Count, 300*time.Millisecond)
	gone := filepath.Join(e.Dir, "no-such-volume")
	bundle := e.CopyBundle(c.Bundle, map[string]string{c.Vol: gone})
	r := e.MustFail("restore", "-d", "--bundle", bundle, "--image-path", img, c.ID)
	expectMentions(t, r, "missing bind source", gone, "--remap-mount")
	e.ExpectNoState("after refused restore")
	vol := copyCount(t, e, c)
	e.MustRun("restore", "-d", "--bundle", bundle, "--image-path", img, "--remap-mount", "/out="+vol, c.ID)
	WaitCounterAbove(t, filepath.Join(vol, "count"), last+3, 5*time.Second)
}

// TestCheckpointAllRestoreAll: every running container (one with pipe stdio, one
// with a terminal) is checkpointed with one command and restored with another
// under the same IDs, as around a daemon upgrade or a reboot.
func TestCheckpointAllRestoreAll(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	piped := e.StartCounter("all-pipe", Shell(countAndPrint("echo $i")))
	cs := NewConsoleSocket(t)
	ttyID := e.ID("all-tty")
	ttyBundle := e.NewBundle(Terminal(), Args("sh"))
	e.MustRun("run", "-d", "--console-socket", cs.Path, "--bundle", ttyBundle, ttyID)
	master := cs.Master(t, 5*time.Second)
	WriteAll(t, master, "X=41\n")

	images := filepath.Join(e.Dir, "all")
	out := e.MustRun("checkpoint", "--all", "--image-root", images)
	for _, id := range []string{piped.ID, ttyID} {
		if !strings.Contains(out.Stdout, "checkpointed "+id) {
			t.Fatalf("checkpoint --all did not report %s:\n%s", id, out)
		}
		e.ExpectGone(id)
	}
	last := ExpectCounterStill(t, piped.Count, 300*time.Millisecond)

	consoles, err := os.MkdirTemp("", "mycr-cd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(consoles) })
	cs2 := listenConsoleAt(t, filepath.Join(consoles, ttyID+".sock"))
	res := e.MustRun("restore", "--all", "--image-root", images, "--console-socket-dir", consoles)
	e.ExpectStatus(piped.ID, "running")
	e.ExpectStatus(ttyID, "running")
	WaitCounterAbove(t, piped.Count, last+3, 5*time.Second)
	m2 := cs2.Master(t, 5*time.Second)
	WriteAll(t, m2, "echo tty-$((X+1))\n")
	ReadUntil(t, m2, "tty-42", 5*time.Second)
	waitFor(t, 5*time.Second, "the piped container to count on restore's stdout", func() (bool, string) {
		return res.Out.LastInt() > last, res.Out.String()
	})
}

func logFile(t *testing.T, e *Env, name string) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(e.Dir, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// listenConsoleAt is NewConsoleSocket at a chosen path.
func listenConsoleAt(t *testing.T, path string) *ConsoleSocket {
	t.Helper()
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	c := &ConsoleSocket{Path: path, ln: ln, ch: make(chan consoleMsg, 1)}
	go c.accept()
	return c
}
