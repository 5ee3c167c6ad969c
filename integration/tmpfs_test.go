package integration

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// tmpfsScript fills the container's /dev/shm (a note with its own mode, a
// 32 MiB segment with one line at its end, a deleted file held open) and
// /run (a tmpfs of the bundle's, as `docker run --tmpfs /run` makes), and appends a line per tick to
// /dev/shm/log through a descriptor held open, counting in /out/count too.
const tmpfsScript = `echo kept > /dev/shm/note; chmod 640 /dev/shm/note; echo run > /run/note
echo ghost > /dev/shm/ghost; exec 4</dev/shm/ghost; rm /dev/shm/ghost
dd if=/dev/zero of=/dev/shm/seg bs=1 count=0 seek=33554432 2>/dev/null; echo end >> /dev/shm/seg
exec 3>>/dev/shm/log; i=0
while :; do i=$((i+1)); echo $i >&3; echo $i > /out/count; sleep 0.05; done`

// A default bundle's tmpfs mounts (/dev, /dev/shm, /sys/fs/cgroup) come back
// with their files, modes, holes, mount options and the files held open on
// them: mycr carries them itself (criu/tmpfs), CRIU archives none of them.
func TestTmpfsFilesThroughRestore(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	runTmpfs := Edit(func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/run", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "size=1m"}})
	})
	c := e.StartCounter("tmpfs", Shell(tmpfsScript), runTmpfs)
	img := filepath.Join(e.Dir, "image")
	e.Checkpoint(c.ID, img)
	ExpectPrivateImage(t, img)
	var carried []string
	for _, m := range readMeta(t, img).Tmpfs {
		carried = append(carried, m.Mountpoint)
		if fi, err := os.Stat(filepath.Join(img, m.File)); err != nil || fi.Size() > 1<<20 {
			t.Errorf("tar of %s: %v (a sparse segment should not fill it)", m.Mountpoint, fi)
		}
	}
	if !slices.Contains(carried, "/dev") || !slices.Contains(carried, "/dev/shm") || !slices.Contains(carried, "/run") {
		t.Errorf("carried tmpfs mounts %q, want /dev, /dev/shm and /run among them", carried)
	}
	if tars, _ := filepath.Glob(filepath.Join(img, "tmpfs-dev-*")); len(tars) > 0 {
		t.Errorf("CRIU archived tmpfs mounts too: %q", tars)
	}
	last := ExpectCounterStill(t, c.Count, 300*time.Millisecond)
	// A copy of the images without a tar is refused before anything is made.
	tar := filepath.Join(img, readMeta(t, img).Tmpfs[0].File)
	if err := os.Rename(tar, tar+".away"); err != nil {
		t.Fatal(err)
	}
	r := e.MustFail("restore", "-d", "--bundle", c.Bundle, "--image-path", img, c.ID)
	expectMentions(t, r, "restore without a tmpfs tar", "incomplete")
	e.ExpectNoState("after a refused restore")
	if err := os.Rename(tar+".away", tar); err != nil {
		t.Fatal(err)
	}

	_, s := e.RestoreDetached(c.ID, c.Bundle, img)
	WaitCounterAbove(t, c.Count, last+5, 5*time.Second)
	sh := func(cmd string) string { return strings.TrimSpace(e.MustRun("exec", c.ID, "sh", "-c", cmd).Stdout) }
	if got := sh("cat /dev/shm/note; stat -c %a /dev/shm/note"); got != "kept\n640" {
		t.Errorf("/dev/shm/note after restore: %q", got)
	}
	if got := sh("cat /run/note; ls /dev/shm; cat /proc/1/fd/4"); got != "run\nlog\nnote\nseg\nghost" {
		t.Errorf("/run/note, /dev/shm and the deleted file held open after restore: %q", got)
	}
	if got := sh("stat -c %s /dev/shm/seg; tail -c 4 /dev/shm/seg"); got != "33554436\nend" {
		t.Errorf("/dev/shm/seg after restore: %q", got)
	}
	// The line the open descriptor appended last goes on from before the checkpoint.
	lastLine := func() int {
		n, _ := strconv.Atoi(sh("tail -n 1 /dev/shm/log"))
		return n
	}
	if first := lastLine(); first < last {
		t.Errorf("/dev/shm/log ends at %d after restore, the counter was at %d", first, last)
	}
	deadline := time.Now().Add(5 * time.Second)
	for lastLine() < last+5 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := lastLine(); n < last+5 {
		t.Errorf("/dev/shm/log stopped growing at %d", n)
	}
	mi, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(s.Pid), "mountinfo"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{" /run rw,nosuid,nodev,relatime - tmpfs tmpfs rw,size=1024k", " /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k", " /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755"} {
		if !strings.Contains(string(mi), want) {
			t.Errorf("restored mounts lack %q:\n%s", want, mi)
		}
	}
	sh("touch /dev/shm/new /dev/new") // still writable
}
