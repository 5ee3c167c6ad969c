package image

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mycr/mycr/criu"
)

var allSections = InspectOpts{PS: true, Files: true, Sockets: true, Mounts: true, Mem: true, Env: true}

func TestInspectFixture(t *testing.T) {
	in, err := Inspect(fixtureDir(t), allSections)
	if err != nil {
		t.Fatal(err)
	}
	if in.Meta == nil || in.Meta.ID != "fx" {
		t.Errorf("meta: %+v", in.Meta)
	}
	if len(in.Processes) != 2 {
		t.Fatalf("processes: %+v", in.Processes)
	}
	p := in.Processes[0]
	want := Process{PID: 1, PPID: 0, PGID: 1, SID: 1, Threads: 1, Comm: "app", State: "alive", UID: 1000, GID: 1001,
		Exe: "/bin/app", Args: []string{"app", "", "--flag"}, Cmdline: "app  --flag", Env: []string{"TOKEN=t1", "HOME=/"},
		Ns: &Namespaces{PidNs: 9, NetNs: 10, MntNs: 13}}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("process 1:\n got %+v\nwant %+v", p, want)
	}
	if z := in.Processes[1]; z.PID != 2 || z.PPID != 1 || z.State != "zombie" || z.Comm != "gone" || z.Depth != 1 || z.Ns != nil {
		t.Errorf("zombie: %+v", z)
	}
	wantFiles := []OpenFile{
		{PID: 1, Fd: "3", Type: "reg", Path: "/etc/passwd", Mode: "r", Pos: 42},
		{PID: 1, Fd: "4", Type: "inetsk", Path: "tcp LISTEN 0.0.0.0:7777"},
		{PID: 1, Fd: "5", Type: "unixsk", Path: "unix stream LISTEN @abstract [556]"},
		{PID: 1, Fd: "cwd", Type: "dir", Path: "/"},
		{PID: 1, Fd: "root", Type: "dir", Path: "/"},
	}
	if !reflect.DeepEqual(in.Files, wantFiles) {
		t.Errorf("files:\n got %+v\nwant %+v", in.Files, wantFiles)
	}
	wantSockets := []Socket{
		{PID: 1, Fd: 4, Family: "ipv4", Type: "stream", Protocol: "tcp", State: "LISTEN", SrcAddr: "0.0.0.0", SrcPort: 7777, Inode: 555},
		{PID: 1, Fd: 5, Family: "unix", Type: "stream", State: "LISTEN", Path: "@abstract", Inode: 556},
	}
	if !reflect.DeepEqual(in.Sockets, wantSockets) {
		t.Errorf("sockets:\n got %+v\nwant %+v", in.Sockets, wantSockets)
	}
	wantMounts := []Mount{{Mountpoint: "/data", FsType: "-", Source: "/dev/sda1", Root: "/srv/vol", External: true},
		{Mountpoint: "/proc", FsType: "proc", Source: "proc", Root: "/"}}
	if !reflect.DeepEqual(in.Mounts, wantMounts) {
		t.Errorf("mounts:\n got %+v\nwant %+v", in.Mounts, wantMounts)
	}
	if len(in.Memory) != 1 {
		t.Fatalf("memory: %+v", in.Memory)
	}
	m := in.Memory[0]
	ps := pageSize
	if m.PID != 1 || m.Exe != "/bin/app" || m.Mapped != 0x2000+0x2000+0x1000+0x1000 || m.Dumped != 3*ps {
		t.Errorf("memory of pid 1: %+v", m)
	}
	wantMaps := []Mapping{
		{Start: "0x400000", End: "0x402000", Size: 0x2000, Perms: "r-xp", What: "/bin/app"},
		{Start: "0x10000", End: "0x12000", Size: 0x2000, Perms: "rw-p", What: "[heap]", Dumped: 2 * ps},
		{Start: "0x20000", End: "0x21000", Size: 0x1000, Perms: "r--p", Dumped: 0}, // its page is in the parent
		{Start: "0x7ff000", End: "0x800000", Size: 0x1000, Perms: "rw-p", What: "[stack]", Dumped: ps},
	}
	if !reflect.DeepEqual(m.Maps, wantMaps) {
		t.Errorf("maps:\n got %+v\nwant %+v", m.Maps, wantMaps)
	}
}

func TestInspectSectionsOnly(t *testing.T) {
	in, err := Inspect(fixtureDir(t), InspectOpts{Sockets: true})
	if err != nil {
		t.Fatal(err)
	}
	if in.Processes != nil || in.Files != nil || in.Mounts != nil || in.Memory != nil || len(in.Sockets) != 2 {
		t.Errorf("asked for sockets only, got %+v", in)
	}
}

func TestSearchFixture(t *testing.T) {
	dir := fixtureDir(t)
	res, err := Search(dir, fxSecret, 4)
	if err != nil {
		t.Fatal(err)
	}
	want := []MemoryMatch{{PID: 1, Comm: "app", Address: "0x10ff9", Mapping: "[heap]", Context: "...." + fxSecret + "...."}}
	if !reflect.DeepEqual(res.Matches, want) || res.Truncated {
		t.Errorf("search across two pagemap entries:\n got %+v\nwant %+v", res, want)
	}
	res, err = Search(dir, "TOKEN=t1", 0)
	if err != nil || len(res.Matches) != 1 || res.Matches[0].Mapping != "[stack]" {
		t.Errorf("environment on the stack: %+v, %v", res, err)
	}
	res, err = Search(dir, "not there", 0)
	if err != nil || len(res.Matches) != 0 {
		t.Errorf("absent string: %+v, %v", res, err)
	}
	for _, bad := range []string{"", strings.Repeat("x", maxPattern+1)} {
		if _, err := Search(dir, bad, 0); err == nil {
			t.Errorf("pattern of %d bytes accepted", len(bad))
		}
	}
	if _, err := Search(dir, "x", -1); err == nil {
		t.Error("negative context accepted")
	}
}

func TestSearchTruncates(t *testing.T) {
	dir := fixtureDir(t)
	res, err := Search(dir, "\x00", 0) // every zero byte of the dumped pages
	if err != nil {
		t.Fatal(err)
	}
	if !res.Truncated || len(res.Matches) != maxMatches {
		t.Errorf("want %d matches and truncated, got %d, %v", maxMatches, len(res.Matches), res.Truncated)
	}
}

func TestInspectNotACheckpoint(t *testing.T) {
	dir := t.TempDir()
	if _, err := Inspect(dir, allSections); err == nil || !strings.Contains(err.Error(), "no CRIU checkpoint") {
		t.Errorf("empty dir: %v", err)
	}
	if _, err := Search(dir, "x", 0); err == nil {
		t.Error("search of an empty dir succeeded")
	}
}

// TestInspectCorruptImages: every fixture file truncated at several points or
// with flipped bytes gives an error naming the file, or a result; never a panic
// (recovered or not).
func TestInspectCorruptImages(t *testing.T) {
	files := fixtureFiles(t)
	for name, data := range files {
		var variants [][]byte
		for _, n := range []int{0, 3, 4, 6, 8, 9, len(data) / 2, len(data) - 1} {
			if n >= 0 && n < len(data) {
				variants = append(variants, data[:n])
			}
		}
		for _, at := range []int{4, 8, 9, 12, len(data) - 2} {
			if at >= 0 && at < len(data) {
				v := append([]byte(nil), data...)
				v[at] ^= 0xff
				variants = append(variants, v)
			}
		}
		for i, v := range variants {
			dir := t.TempDir()
			for n, d := range files {
				if err := os.WriteFile(filepath.Join(dir, n), d, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, name), v, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Inspect(dir, allSections)
			checkCorruptErr(t, name, i, err)
			_, err = Search(dir, fxSecret, 8)
			checkCorruptErr(t, name, i, err)
		}
	}
}

func checkCorruptErr(t *testing.T, name string, i int, err error) {
	t.Helper()
	if err == nil {
		return // e.g. a flipped byte inside a string
	}
	if strings.Contains(err.Error(), "are corrupt (reading") {
		t.Errorf("%s variant %d: the decoder panicked: %v", name, i, err)
	}
	if name != criu.MetaName && name != "pages-1.img" && !strings.Contains(err.Error(), name) && !strings.Contains(err.Error(), "inventory.img") {
		t.Errorf("%s variant %d: error does not name the file: %v", name, i, err)
	}
}

func TestDiffFixture(t *testing.T) {
	a, err := Inspect(fixtureDir(t), allSections)
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(a, a); len(d) != 0 {
		t.Errorf("a checkpoint differs from itself: %v", d)
	}
	b, err := Inspect(fixtureDir(t), allSections)
	if err != nil {
		t.Fatal(err)
	}
	b.Processes = b.Processes[:1]
	b.Files = append(b.Files[:0:0], b.Files...)
	b.Files[0].Path = "/etc/shadow"
	b.Sockets = b.Sockets[1:]
	b.Memory[0].Dumped += pageSize
	var got []string
	for _, c := range Diff(a, b) {
		got = append(got, c.String())
	}
	want := []string{
		"- process pid 2: gone ()",
		"- file pid 1: fd 3 /etc/passwd",
		"+ file pid 1: fd 3 /etc/shadow",
		"- socket pid 1: fd 4 tcp LISTEN 0.0.0.0:7777",
		"~ memory pid 1: mapped 24KiB -> 24KiB, dumped 12KiB -> 16KiB",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("diff:\n got %q\nwant %q", got, want)
	}
}

// TestInspectDoesNotMixCheckpoints: two checkpoints read in one process keep
// their own files (go-criu's Explore helpers cache files.img globally).
func TestInspectDoesNotMixCheckpoints(t *testing.T) {
	a := fixtureDir(t)
	b := fixtureDir(t)
	if _, err := Inspect(a, allSections); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(b, "files.img")); err != nil {
		t.Fatal(err)
	}
	if _, err := Inspect(b, InspectOpts{Files: true}); err == nil {
		t.Error("second checkpoint without files.img was read with the first one's")
	}
}
