package image

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/checkpoint-restore/go-criu/v7/crit"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/creds"
	criucore "github.com/checkpoint-restore/go-criu/v7/crit/images/criu-core"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/fdinfo"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/fs"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/inventory"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/mm"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/mnt"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/pagemap"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/pstree"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/regfile"
	skinet "github.com/checkpoint-restore/go-criu/v7/crit/images/sk-inet"
	skunix "github.com/checkpoint-restore/go-criu/v7/crit/images/sk-unix"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/stats"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/vma"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/mycr/mycr/criu"
)

// A small checkpoint written with go-criu's encoder, so the decoding is tested
// (and fuzzed) without CRIU: pid 1 "app" (uid 1000) with fd 3 on /etc/passwd,
// a TCP listener on 0.0.0.0:7777 (fd 4) and an abstract unix socket (fd 5),
// args and environment on its stack, a secret that straddles two pagemap
// entries of its heap, and a page only in a parent checkpoint; pid 2 is a zombie.
const (
	fxHeap    = 0x10000
	fxStack   = 0x7ff000
	fxParent  = 0x20000
	fxSecret  = "SECRET-BETWEEN-PAGES"
	fxSecretA = fxHeap + 0x1000 - 7 // 7 bytes in the first heap page, the rest in the second
)

var fxArgs = []byte("app\x00\x00--flag\x00") // an empty argument in the middle
var fxEnv = []byte("TOKEN=t1\x00HOME=/\x00")

func writeFixture(t testing.TB, dir string) {
	t.Helper()
	img := func(name, magic string, msgs ...proto.Message) {
		writeImage(t, filepath.Join(dir, name), magic, msgs...)
	}
	u32, u64, str := proto.Uint32, proto.Uint64, proto.String
	img("inventory.img", "INVENTORY", &inventory.InventoryEntry{ImgVersion: u32(2)})
	img("pstree.img", "PSTREE", &pstree.PstreeEntry{Pid: u32(1), Ppid: u32(0), Pgid: u32(1), Sid: u32(1), Threads: []uint32{1}},
		&pstree.PstreeEntry{Pid: u32(2), Ppid: u32(1), Pgid: u32(1), Sid: u32(1)})
	core := func(comm string, state uint32) *criucore.CoreEntry {
		c := &criucore.CoreEntry{Tc: &criucore.TaskCoreEntry{Comm: str(comm), TaskState: u32(state)},
			ThreadCore: &criucore.ThreadCoreEntry{Creds: &creds.CredsEntry{Uid: u32(1000), Gid: u32(1001)}}}
		return c
	}
	img("core-1.img", "CORE", core("app", 1))
	img("core-2.img", "CORE", core("gone", 6))
	img("ids-1.img", "IDS", &criucore.TaskKobjIdsEntry{FilesId: u32(7), PidNsId: u32(9), NetNsId: u32(10), MntNsId: u32(13)})
	img("fdinfo-7.img", "FDINFO",
		&fdinfo.FdinfoEntry{Fd: u32(3), Id: u32(10), Type: fdinfo.FdTypes_REG.Enum()},
		&fdinfo.FdinfoEntry{Fd: u32(4), Id: u32(11), Type: fdinfo.FdTypes_INETSK.Enum()},
		&fdinfo.FdinfoEntry{Fd: u32(5), Id: u32(12), Type: fdinfo.FdTypes_UNIXSK.Enum()})
	img("files.img", "FILES",
		&fdinfo.FileEntry{Type: fdinfo.FdTypes_REG.Enum(), Id: u32(10), Reg: &regfile.RegFileEntry{Name: str("/etc/passwd"), Pos: u64(42)}},
		&fdinfo.FileEntry{Type: fdinfo.FdTypes_INETSK.Enum(), Id: u32(11), Isk: &skinet.InetSkEntry{Family: u32(unix.AF_INET),
			Type: u32(unix.SOCK_STREAM), Proto: u32(unix.IPPROTO_TCP), State: u32(10), SrcPort: u32(7777), SrcAddr: []uint32{0}, Ino: u32(555)}},
		&fdinfo.FileEntry{Type: fdinfo.FdTypes_UNIXSK.Enum(), Id: u32(12), Usk: &skunix.UnixSkEntry{Type: u32(unix.SOCK_STREAM),
			State: u32(10), Name: []byte("\x00abstract"), Ino: u32(556)}},
		&fdinfo.FileEntry{Type: fdinfo.FdTypes_REG.Enum(), Id: u32(20), Reg: &regfile.RegFileEntry{Name: str("/bin/app")}},
		&fdinfo.FileEntry{Type: fdinfo.FdTypes_REG.Enum(), Id: u32(21), Reg: &regfile.RegFileEntry{Name: str("/")}})
	img("fs-1.img", "FS", &fs.FsEntry{CwdId: u32(21), RootId: u32(21)})
	argStart := uint64(fxStack + 0x100)
	envStart := argStart + uint64(len(fxArgs))
	img("mm-1.img", "MM", &mm.MmEntry{ExeFileId: u32(20), MmArgStart: u64(argStart), MmArgEnd: u64(envStart),
		MmEnvStart: u64(envStart), MmEnvEnd: u64(envStart + uint64(len(fxEnv))),
		Vmas: []*vma.VmaEntry{
			{Start: u64(0x400000), End: u64(0x402000), Shmid: u64(20), Prot: u32(unix.PROT_READ | unix.PROT_EXEC), Flags: u32(unix.MAP_PRIVATE), Status: u32(1 | vmaFilePrivate)},
			{Start: u64(fxHeap), End: u64(fxHeap + 0x2000), Prot: u32(unix.PROT_READ | unix.PROT_WRITE), Flags: u32(unix.MAP_PRIVATE), Status: u32(1 | vmaHeap)},
			{Start: u64(fxParent), End: u64(fxParent + 0x1000), Prot: u32(unix.PROT_READ), Flags: u32(unix.MAP_PRIVATE), Status: u32(1)},
			{Start: u64(fxStack), End: u64(fxStack + 0x1000), Prot: u32(unix.PROT_READ | unix.PROT_WRITE), Flags: u32(unix.MAP_PRIVATE | unix.MAP_GROWSDOWN), Status: u32(1 | vmaStack)},
		}})
	entry := func(vaddr uint64, n uint64, flags uint32) *pagemap.PagemapEntry {
		e := &pagemap.PagemapEntry{Vaddr: u64(vaddr), NrPages: u32(0), Flags: u32(flags)}
		e.ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, pagemapNrPagesField, protowire.VarintType), n))
		return e
	}
	img("pagemap-1.img", "PAGEMAP", &pagemap.PagemapHead{PagesId: u32(1)},
		entry(fxHeap, 1, pagemapPresent), entry(fxHeap+0x1000, 1, pagemapPresent),
		entry(fxParent, 1, pagemapInParent), entry(fxStack, 1, pagemapPresent))
	ps := int(pageSize)
	pages := make([]byte, 3*ps)
	copy(pages[0x1000-7:], fxSecret)
	stack := pages[2*ps:]
	copy(stack[0x100:], fxArgs)
	copy(stack[0x100+len(fxArgs):], fxEnv)
	if err := os.WriteFile(filepath.Join(dir, "pages-1.img"), pages, 0o600); err != nil {
		t.Fatal(err)
	}
	img("mountpoints-13.img", "MNTS", &mnt.MntEntry{Fstype: u32(uint32(mnt.Fstype_PROC)), MntId: u32(1), Mountpoint: str("/proc"), Source: str("proc"), Root: str("/")},
		&mnt.MntEntry{Fstype: u32(uint32(mnt.Fstype_UNSUPPORTED)), MntId: u32(2), Mountpoint: str("/data"), Source: str("/dev/sda1"), Root: str("/srv/vol"), ExtKey: str("/data")})
	img("stats-dump", "STATS", &stats.StatsEntry{Dump: &stats.DumpStatsEntry{FreezingTime: u32(1500), FrozenTime: u32(85000),
		MemdumpTime: u32(2000), MemwriteTime: u32(3000), PagesScanned: u64(100), PagesWritten: u64(40), PagesSkippedParent: u64(1)}})
	if err := criu.WriteMeta(dir, &criu.Meta{Format: criu.MetaFormat, ID: "fx", Runtime: "mycr test", CriuVersion: 40201}); err != nil {
		t.Fatal(err)
	}
}

// writeImage writes msgs as a CRIU image with go-criu's encoder; required
// fields left unset are set to zero values (CRIU's decoder wants them all).
func writeImage(t testing.TB, path, magic string, msgs ...proto.Message) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img := &crit.CriuImage{Magic: magic}
	for _, m := range msgs {
		fillRequired(m.ProtoReflect())
		img.Entries = append(img.Entries, &crit.CriuEntry{Message: m})
	}
	if err := crit.New(nil, f, "", false, false).Encode(img); err != nil {
		t.Fatalf("encode %s: %v", path, err)
	}
}

func fillRequired(m protoreflect.Message) {
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		switch {
		case fd.Cardinality() == protoreflect.Required && fd.Message() != nil:
			fillRequired(m.Mutable(fd).Message())
		case fd.Cardinality() == protoreflect.Required && !m.Has(fd):
			m.Set(fd, fd.Default())
		case fd.Message() != nil && fd.Cardinality() != protoreflect.Repeated && m.Has(fd):
			fillRequired(m.Mutable(fd).Message())
		case fd.Message() != nil && fd.IsList():
			l := m.Mutable(fd).List()
			for j := 0; j < l.Len(); j++ {
				fillRequired(l.Get(j).Message())
			}
		}
	}
}

// fixtureDir writes the fixture into a fresh directory.
func fixtureDir(t testing.TB) string {
	dir := t.TempDir()
	writeFixture(t, dir)
	return dir
}

// fixtureFiles are the fixture's files, as name -> content.
func fixtureFiles(t testing.TB) map[string][]byte {
	dir := fixtureDir(t)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}
