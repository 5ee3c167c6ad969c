package migrate

import (
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/checkpoint-restore/go-criu/v7/crit"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/pagemap"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/encoding/protowire"
)

// CRIU's lazy-pages daemon keeps one background request in flight (criu/uffd.c
// handle_requests: the next xfer_pages only once the last answer is in), so
// over a link its post-copy rate is one request per round trip. The prefetcher
// streams every lazy page ahead of it instead: on the source, the relay asks
// the page server for the lazy ranges of the dump's pagemaps itself, in
// address order (the daemon's order too), on the same connection as the
// daemon's requests, and sends the answers to the target, whose pageFront
// (pagecache.go) answers the daemon's requests from them without a round
// trip. The page server keeps every page until the commit as before; pages
// the daemon asks for before they arrive are fetched as before.

// pageRange is a run of lazy pages of one process of the dump.
type pageRange struct {
	dst, vaddr, pages uint64 // dst: the process's pid in the images (CRIU's dst_id)
}

const (
	peParent        = 1 << 0 // pagemap entry flags (criu/include/pagemap.h)
	peLazy          = 1 << 1 // served by the page server
	pePresent       = 1 << 2 // in the pages image
	prefetchPages   = 256    // pages per prefetch request (1 MiB)
	prefetchInFlght = 4      // prefetch requests at the page server at once
)

// lazyRanges reads the lazy page runs from the pagemaps of a dump in dir.
func lazyRanges(dir string) ([]pageRange, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []pageRange
	for _, e := range ents {
		num, ok := strings.CutPrefix(e.Name(), "pagemap-")
		if !ok || !strings.HasSuffix(num, ".img") {
			continue
		}
		pid, err := strconv.ParseUint(strings.TrimSuffix(num, ".img"), 10, 32)
		if err != nil {
			continue // pagemap-shmem-*.img: shared memory is not lazy
		}
		mr, err := crit.NewMemoryReader(filepath.Dir(filepath.Join(dir, e.Name())), uint32(pid), psPageSize)
		if err != nil {
			return nil, err
		}
		for _, pe := range mr.GetPagemapEntries() {
			if n := entryPages(pe); pe.GetFlags()&(peParent|peLazy|pePresent) == peLazy && n > 0 {
				out = append(out, pageRange{dst: pid, vaddr: pe.GetVaddr(), pages: n})
			}
		}
	}
	return out, nil
}

// entryPages is a pagemap entry's page count: CRIU 4 writes it as the 64-bit
// field 5 (nr_pages), which go-criu's older schema does not know (its
// nr_pages is field 2, now compat_nr_pages and 0).
func entryPages(pe *pagemap.PagemapEntry) uint64 {
	if n := pe.GetNrPages(); n > 0 {
		return uint64(n)
	}
	b := pe.ProtoReflect().GetUnknown()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return 0
		}
		b = b[n:]
		if num == 5 && typ == protowire.VarintType {
			v, k := protowire.ConsumeVarint(b)
			if k < 0 {
				return 0
			}
			return v
		}
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return 0
		}
		b = b[n:]
	}
	return 0
}

// prefetch is the relay's part of prefetching (zero value: none).
type prefetch struct {
	sink  func(answer []byte) error // gets header+pages of each answer
	slots chan struct{}
	done  chan struct{}
	bytes atomic.Int64 // pages' bytes handed to sink
	dead  atomic.Bool  // sink failed: drop the rest
}

// start asks the page server (through request) for every page of ranges, a
// few requests at a time, and hands the answers to sink, until the daemon
// closes or the relay stops.
func (f *prefetch) start(ranges []pageRange, sink, request func([]byte) error, stop, downDone <-chan struct{}, closed func() bool) {
	f.sink, f.slots, f.done = sink, make(chan struct{}, prefetchInFlght), make(chan struct{})
	go func() {
		defer close(f.done)
		start, sent := time.Now(), 0
		defer func() {
			logrus.Debugf("prefetch: %d requests sent to the page server in %v", sent, time.Since(start).Round(time.Millisecond))
		}()
		msg := make([]byte, psIOVSize)
		for _, r := range ranges {
			for off := uint64(0); off < r.pages; off += prefetchPages {
				select {
				case f.slots <- struct{}{}:
				case <-stop:
					return
				case <-downDone:
					return
				}
				if f.dead.Load() || closed() {
					return
				}
				binary.LittleEndian.PutUint32(msg, psIOVGet)
				binary.LittleEndian.PutUint64(msg[8:], min(prefetchPages, r.pages-off))
				binary.LittleEndian.PutUint64(msg[16:], r.vaddr+off*psPageSize)
				binary.LittleEndian.PutUint64(msg[24:], r.dst)
				if request(msg) != nil {
					return
				}
				sent++
			}
		}
	}()
}

// answer reads the n bytes of pages after hdr and hands them to the sink.
func (f *prefetch) answer(r io.Reader, hdr []byte, n int64) error {
	b := make([]byte, int64(len(hdr))+n)
	copy(b, hdr)
	_, err := io.ReadFull(r, b[len(hdr):])
	<-f.slots
	if err != nil {
		return err
	}
	if !f.dead.Load() {
		if f.sink(b) != nil {
			f.dead.Store(true)
		} else {
			f.bytes.Add(n)
		}
	}
	return nil
}

// wait returns once the prefetcher sends no more requests.
func (f *prefetch) wait() {
	if f.done != nil {
		<-f.done
	}
}
