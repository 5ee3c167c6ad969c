package image

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/checkpoint-restore/go-criu/v7/crit"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/pagemap"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/mycr/mycr/internal/atomicfile"
)

// MarkEager makes the given pages of process pid (its pagemap-PID.img in dir)
// load before the process runs on a lazy restore: their pagemap entries lose
// CRIU's lazy flag, split where needed. Pages stay where they are in the pages
// image (the entries keep their order), so the images restore as before, lazily
// or not, with CRIU, mycr or runc. A lazy restore then needs no page fault for
// them: for a service restored many times from one checkpoint, its first
// answer does not wait for each page it touches first. It returns how many
// pages were lazy and are now eager; pages not lazy in the images (already
// eager, zero, on a page server) are left as they are. The file is replaced
// atomically: a restore reading it meanwhile sees the old or the new one.
func MarkEager(dir string, pid int, pages []uint64) (int, error) {
	if len(pages) == 0 {
		return 0, nil
	}
	pages = append([]uint64(nil), pages...)
	sort.Slice(pages, func(i, j int) bool { return pages[i] < pages[j] })
	name := fmt.Sprintf("pagemap-%d.img", pid)
	path := filepath.Join(dir, name)
	img, err := decodePagemap(path)
	if err != nil {
		return 0, err
	}
	entries := []*crit.CriuEntry{img.Entries[0]} // the head; not img.Entries[:1]: appending would overwrite entries not yet read
	marked := 0
	for _, ce := range img.Entries[1:] {
		e, ok := ce.Message.(*pagemap.PagemapEntry)
		if !ok {
			return 0, fmt.Errorf("%s: entry is a %T, not a pagemap entry", name, ce.Message)
		}
		split, n := splitEager(e, pages)
		marked += n
		for _, s := range split {
			entries = append(entries, &crit.CriuEntry{Message: s})
		}
	}
	if marked == 0 {
		return 0, nil
	}
	img.Entries = entries
	return marked, replaceImage(path, img)
}

func decodePagemap(path string) (*crit.CriuImage, error) {
	img, err := decodeFile(path, &pagemap.PagemapEntry{})
	if err != nil {
		return nil, err
	}
	if len(img.Entries) == 0 {
		return nil, fmt.Errorf("%s has no head", filepath.Base(path))
	}
	return img, nil
}

// splitEager returns e as runs of lazy and eager entries, the pages in hot
// (sorted) eager, and how many pages it made eager. An entry that is not lazy
// and in the pages image comes back whole.
func splitEager(e *pagemap.PagemapEntry, hot []uint64) ([]*pagemap.PagemapEntry, int) {
	n := nrPages(e)
	start := e.GetVaddr()
	end := start + n*pageSize
	if e.GetFlags()&pagemapLazy == 0 || !pagesPresent(e) {
		return []*pagemap.PagemapEntry{e}, 0
	}
	i := sort.Search(len(hot), func(i int) bool { return hot[i] >= start })
	if i == len(hot) || hot[i] >= end {
		return []*pagemap.PagemapEntry{e}, 0
	}
	var out []*pagemap.PagemapEntry
	marked := 0
	runStart, runEager := start, false
	for a := start; a < end; a += pageSize {
		for i < len(hot) && hot[i] < a {
			i++
		}
		eager := i < len(hot) && hot[i] == a
		if a > runStart && eager != runEager {
			out = append(out, entryPart(e, runStart, (a-runStart)/pageSize, runEager))
			runStart = a
		}
		runEager = eager
		if eager {
			marked++
		}
	}
	return append(out, entryPart(e, runStart, (end-runStart)/pageSize, runEager)), marked
}

// entryPart is e's nr pages from vaddr, eager (lazy flag cleared) or as e.
// The count goes where e kept its own: CRIU >= 4.0's field 5 (unknown to
// go-criu's schema, so written raw) or the old field 2.
func entryPart(e *pagemap.PagemapEntry, vaddr, nr uint64, eager bool) *pagemap.PagemapEntry {
	p := proto.Clone(e).(*pagemap.PagemapEntry)
	p.Vaddr = proto.Uint64(vaddr)
	if eager {
		p.Flags = proto.Uint32(e.GetFlags() &^ pagemapLazy)
	}
	if _, inField5 := nrPagesField5(e); inField5 {
		var raw []byte
		raw = protowire.AppendTag(raw, pagemapNrPagesField, protowire.VarintType)
		raw = protowire.AppendVarint(raw, nr)
		p.ProtoReflect().SetUnknown(raw)
		p.NrPages = proto.Uint32(0)
	} else {
		p.NrPages = proto.Uint32(uint32(nr))
	}
	return p
}

// replaceImage writes img over path (0600: images hold process memory),
// synced before the rename: the images must restore after a crash too.
func replaceImage(path string, img *crit.CriuImage) error {
	atomicfile.RemoveStale(path)
	err := atomicfile.WriteFunc(path, 0o600, true, func(f *os.File) error {
		return crit.New(nil, f, "", false, false).Encode(img)
	})
	if err != nil {
		return fmt.Errorf("rewrite %s: %w", filepath.Base(path), err)
	}
	return nil
}
