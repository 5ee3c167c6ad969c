package criu

import (
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/checkpoint-restore/go-criu/v7/crit"
)

// pagemapNrPagesField is where CRIU >= 4.0 keeps a pagemap entry's page count
// (uint64 nr_pages = 5); go-criu v7.2's schema only knows the old field 2, which
// CRIU now leaves 0, so its memory reader would see no pages at all.
const pagemapNrPagesField = 5

// fixPagemap copies the page counts CRIU wrote in field 5 into the field
// go-criu reads, so that cmdline, environment and memory search work.
func fixPagemap(mr *crit.MemoryReader) {
	for _, e := range mr.GetPagemapEntries() {
		if e.GetNrPages() != 0 {
			continue
		}
		raw := e.ProtoReflect().GetUnknown()
		for len(raw) > 0 {
			num, typ, n := protowire.ConsumeTag(raw)
			if n < 0 {
				break
			}
			raw = raw[n:]
			if num == pagemapNrPagesField && typ == protowire.VarintType {
				v, m := protowire.ConsumeVarint(raw)
				if m < 0 {
					break
				}
				e.NrPages = proto.Uint32(uint32(v))
				break
			}
			m := protowire.ConsumeFieldValue(num, typ, raw)
			if m < 0 {
				break
			}
			raw = raw[m:]
		}
	}
}

// memoryReader opens a task's memory with the page counts fixed.
func memoryReader(dir string, pid uint32) (*crit.MemoryReader, error) {
	mr, err := crit.NewMemoryReader(dir, pid, 0)
	if err != nil {
		return nil, err
	}
	fixPagemap(mr)
	return mr, nil
}
