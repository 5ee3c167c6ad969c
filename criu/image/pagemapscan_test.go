package image

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/checkpoint-restore/go-criu/v7/crit/images/pagemap"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// withNrPages sets CRIU >= 4.0's nr_pages (field 5, unknown to go-criu's schema).
func withNrPages(e *pagemap.PagemapEntry, n uint64) *pagemap.PagemapEntry {
	raw := protowire.AppendTag(nil, pagemapNrPagesField, protowire.VarintType)
	e.ProtoReflect().SetUnknown(protowire.AppendVarint(raw, n))
	return e
}

// scanPagemap reads the same totals crit's decoding gives (nrPages,
// pagesPresent): old and new page counts, flags or in_parent, lazy entries.
func TestScanPagemapMatchesCrit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pagemap-1.img")
	entries := []*pagemap.PagemapEntry{
		{Vaddr: proto.Uint64(0x400000), NrPages: proto.Uint32(3)},                                        // old: no flags, here
		{Vaddr: proto.Uint64(0x500000), NrPages: proto.Uint32(2), InParent: proto.Bool(true)},            // old: in the parent
		withNrPages(&pagemap.PagemapEntry{Vaddr: proto.Uint64(0x600000), Flags: proto.Uint32(4)}, 300),   // present
		withNrPages(&pagemap.PagemapEntry{Vaddr: proto.Uint64(0x700000), Flags: proto.Uint32(2)}, 1<<20), // lazy only
		withNrPages(&pagemap.PagemapEntry{Vaddr: proto.Uint64(0x800000), Flags: proto.Uint32(6)}, 7),     // lazy and present
		{Vaddr: proto.Uint64(0x900000), NrPages: proto.Uint32(5), Flags: proto.Uint32(1)},                // in the parent
	}
	msgs := []proto.Message{&pagemap.PagemapHead{PagesId: proto.Uint32(42)}}
	var want uint64
	for _, e := range entries {
		msgs = append(msgs, e)
		if pagesPresent(e) {
			want += nrPages(e) * pageSize
		}
	}
	writeImage(t, path, "PAGEMAP", msgs...)
	sum, err := scanPagemap(path)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.head || sum.pagesID != 42 || sum.entries != len(entries) || sum.present != want {
		t.Fatalf("scanPagemap = %+v, want pages id 42, %d entries, %d bytes present", sum, len(entries), want)
	}
	if want != (3+300+7)*pageSize {
		t.Fatalf("crit's totals changed: %d", want)
	}
}

// A head-only pagemap has nothing present; a corrupt entry is an error.
func TestScanPagemapEdges(t *testing.T) {
	dir := t.TempDir()
	head := filepath.Join(dir, "pagemap-1.img")
	writeImage(t, head, "PAGEMAP", &pagemap.PagemapHead{PagesId: proto.Uint32(1)})
	if sum, err := scanPagemap(head); err != nil || !sum.head || sum.present != 0 {
		t.Fatalf("head only: %+v %v", sum, err)
	}
	bad := filepath.Join(dir, "pagemap-2.img")
	writeImage(t, bad, "PAGEMAP", &pagemap.PagemapHead{PagesId: proto.Uint32(1)}, &pagemap.PagemapEntry{})
	data, _, err := readFramed(bad)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-1] = 0xff // a varint that never ends
	writeRaw(t, bad, data)
	if _, err := scanPagemap(bad); err == nil {
		t.Fatal("a corrupt entry passed")
	}
}

func writeRaw(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
