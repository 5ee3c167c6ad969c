package image

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/checkpoint-restore/go-criu/v7/crit/images/pagemap"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

const (
	lazyHere = pagemapLazy | pagemapPresent
	eager    = pagemapPresent
)

// pmEntry is a CRIU >= 4.0 pagemap entry: its page count in field 5.
func pmEntry(vaddr, nr uint64, flags uint32) *pagemap.PagemapEntry {
	e := &pagemap.PagemapEntry{Vaddr: proto.Uint64(vaddr), NrPages: proto.Uint32(0), Flags: proto.Uint32(flags)}
	raw := protowire.AppendTag(nil, pagemapNrPagesField, protowire.VarintType)
	e.ProtoReflect().SetUnknown(protowire.AppendVarint(raw, nr))
	return e
}

type run struct {
	vaddr, nr uint64
	flags     uint32
}

func readRuns(t *testing.T, path string) []run {
	t.Helper()
	img, err := decodePagemap(path)
	if err != nil {
		t.Fatal(err)
	}
	if img.Entries[0].Message.(*pagemap.PagemapHead).GetPagesId() != 1 {
		t.Errorf("the head was not kept: %v", img.Entries[0].Message)
	}
	var out []run
	for _, ce := range img.Entries[1:] {
		e := ce.Message.(*pagemap.PagemapEntry)
		out = append(out, run{e.GetVaddr(), nrPages(e), e.GetFlags()})
	}
	return out
}

func TestMarkEager(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pagemap-7.img")
	p := func(n uint64) uint64 { return 0x10000 + n*pageSize }
	writeImage(t, path, "PAGEMAP", &pagemap.PagemapHead{PagesId: proto.Uint32(1)},
		pmEntry(p(0), 2, eager),        // already eager: stays
		pmEntry(p(4), 8, lazyHere),     // pages 5, 6 and 11 hot
		pmEntry(p(20), 3, pagemapLazy), // on a page server: stays
		pmEntry(p(30), 1, lazyHere),    // wholly hot
		&pagemap.PagemapEntry{Vaddr: proto.Uint64(p(40)), NrPages: proto.Uint32(4), Flags: proto.Uint32(lazyHere)}, // CRIU < 4.0: page 41 hot
	)
	stale := filepath.Join(dir, ".pagemap-7.img.4194305.tmp") // of a dead process
	if err := os.WriteFile(stale, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	hot := []uint64{p(41), p(11), p(5), p(6), p(0), p(21), p(30), p(99)}
	n, err := MarkEager(dir, 7, hot)
	if err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Errorf("marked %d pages, want 5 (5, 6, 11, 30, 41)", n)
	}
	want := []run{
		{p(0), 2, eager},
		{p(4), 1, lazyHere}, {p(5), 2, eager}, {p(7), 4, lazyHere}, {p(11), 1, eager},
		{p(20), 3, pagemapLazy},
		{p(30), 1, eager},
		{p(40), 1, lazyHere}, {p(41), 1, eager}, {p(42), 2, lazyHere},
	}
	got := readRuns(t, path)
	if len(got) != len(want) {
		t.Fatalf("entries %x, want %x", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d = %x, want %x", i, got[i], want[i])
		}
	}
	// Field 5 stays where CRIU >= 4.0 reads it; old entries keep field 2.
	img, _ := decodePagemap(path)
	if e := img.Entries[2].Message.(*pagemap.PagemapEntry); e.GetNrPages() != 0 {
		t.Errorf("a CRIU 4 entry got compat_nr_pages %d", e.GetNrPages())
	}
	if e := img.Entries[8].Message.(*pagemap.PagemapEntry); e.GetNrPages() != 1 {
		t.Errorf("an old entry's split kept no compat_nr_pages: %v", e)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("rewritten pagemap: %v %v, want 0600", st.Mode(), err)
	}
	if n, err := MarkEager(dir, 7, hot); n != 0 || err != nil {
		t.Errorf("marking again: %d, %v; want nothing to do", n, err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*"))
	if len(left) != 0 {
		t.Errorf("temporary files left (a killed run's too): %v", left)
	}
	if _, err := MarkEager(dir, 8, hot); err == nil {
		t.Error("a missing pagemap gave no error")
	}
}
