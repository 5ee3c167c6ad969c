package image

import (
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/checkpoint-restore/go-criu/v7/crit/images/pagemap"
)

// pagemapNrPagesField is where CRIU >= 4.0 keeps a pagemap entry's page count
// (uint64 nr_pages = 5); go-criu v7.2's schema only knows the old field 2
// (compat_nr_pages), which CRIU now leaves 0. crit keeps field 5 as an unknown
// field of the decoded message; this reads it from there.
const pagemapNrPagesField = 5

// Pagemap entry flags (CRIU's criu/include/pagemap.h).
const (
	pagemapInParent = 1 << 0 // the pages are in the parent checkpoint
	pagemapLazy     = 1 << 1 // the pages may be restored lazily
	pagemapPresent  = 1 << 2 // the pages are in this checkpoint's pages image
)

// nrPages is the number of pages an entry covers, from field 5 if CRIU wrote
// it, else from the old field 2.
func nrPages(e *pagemap.PagemapEntry) uint64 {
	if v, ok := nrPagesField5(e); ok {
		return v
	}
	return uint64(e.GetNrPages())
}

// nrPagesField5 reads field 5 from the entry's unknown fields.
func nrPagesField5(e *pagemap.PagemapEntry) (uint64, bool) {
	raw := e.ProtoReflect().GetUnknown()
	for len(raw) > 0 {
		num, typ, n := protowire.ConsumeTag(raw)
		if n < 0 {
			break
		}
		raw = raw[n:]
		if num == pagemapNrPagesField && typ == protowire.VarintType {
			if v, m := protowire.ConsumeVarint(raw); m > 0 {
				return v, true
			}
			break
		}
		m := protowire.ConsumeFieldValue(num, typ, raw)
		if m < 0 {
			break
		}
		raw = raw[m:]
	}
	return 0, false
}

// pagesPresent tells whether the entry's pages are in this checkpoint's pages
// image (not only in a parent checkpoint, nor left to a lazy-pages server).
func pagesPresent(e *pagemap.PagemapEntry) bool {
	if e.Flags == nil { // images older than the flags: in_parent or here
		return !e.GetInParent()
	}
	return e.GetFlags()&pagemapPresent != 0
}
