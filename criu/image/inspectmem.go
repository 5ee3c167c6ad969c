package image

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/checkpoint-restore/go-criu/v7/crit/images/pagemap"
)

// pageSize is the size of the pages CRIU dumps: the host's (images are only
// inspected, and restored, on the architecture they were made on).
var pageSize = uint64(os.Getpagesize())

// maxMemRead bounds one read of dumped memory (a command line, an environment,
// the context of a search hit): a corrupt mm image cannot ask for gigabytes.
const maxMemRead = 4 << 20

// memRun is a stretch of a task's address space whose pages are in the pages
// image: size bytes at vaddr, stored from off on.
type memRun struct{ vaddr, size, off uint64 }

// taskMemory is one task's dumped memory: its pagemap (decoded by crit) says
// which addresses have their pages where in pages-<id>.img. Every run is
// checked against the size of the pages image when it is opened.
type taskMemory struct {
	pages  *os.File
	name   string   // of the pages image, for errors
	runs   []memRun // sorted by vaddr
	dumped uint64   // bytes of this task in the pages image
}

func openTaskMemory(im *images, pid uint32) (*taskMemory, error) {
	name := fmt.Sprintf("pagemap-%d.img", pid)
	msgs, err := im.all(name, &pagemap.PagemapHead{})
	if err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		return nil, fmt.Errorf("%s has no head", name)
	}
	head, ok := msgs[0].(*pagemap.PagemapHead)
	if !ok {
		return nil, fmt.Errorf("%s has no head", name)
	}
	m := &taskMemory{name: fmt.Sprintf("pages-%d.img", head.GetPagesId())}
	if m.pages, err = os.Open(filepath.Join(im.dir, m.name)); err != nil {
		return nil, err
	}
	st, err := m.pages.Stat()
	if err != nil {
		m.close()
		return nil, err
	}
	avail := uint64(st.Size())
	for _, msg := range msgs[1:] {
		e, ok := msg.(*pagemap.PagemapEntry)
		if !ok || !pagesPresent(e) {
			continue
		}
		n := nrPages(e)
		if n > (avail-m.dumped)/pageSize {
			m.close()
			return nil, fmt.Errorf("%s is truncated: %s maps %d pages at 0x%x beyond its %d bytes", m.name, name, n, e.GetVaddr(), avail)
		}
		size := n * pageSize
		if e.GetVaddr() > math.MaxUint64-size {
			m.close()
			return nil, fmt.Errorf("%s is corrupt: %d pages at 0x%x overflow the address space", name, n, e.GetVaddr())
		}
		m.runs = append(m.runs, memRun{vaddr: e.GetVaddr(), size: size, off: m.dumped})
		m.dumped += size
	}
	sort.Slice(m.runs, func(i, j int) bool { return m.runs[i].vaddr < m.runs[j].vaddr })
	return m, nil
}

func (m *taskMemory) close() { m.pages.Close() }

// read returns n bytes of the task's memory at addr; pages not in the image
// (never touched, or clean file pages) read as zeros.
func (m *taskMemory) read(addr, n uint64) ([]byte, error) {
	if n > maxMemRead {
		return nil, fmt.Errorf("refusing to read %d bytes of memory at 0x%x (at most %d)", n, addr, maxMemRead)
	}
	n = min(n, math.MaxUint64-addr)
	buf := make([]byte, n)
	end := addr + n
	i := sort.Search(len(m.runs), func(i int) bool { return m.runs[i].vaddr+m.runs[i].size > addr })
	for ; i < len(m.runs) && m.runs[i].vaddr < end; i++ {
		r := m.runs[i]
		lo, hi := max(addr, r.vaddr), min(end, r.vaddr+r.size)
		if _, err := m.pages.ReadAt(buf[lo-addr:hi-addr], int64(r.off+lo-r.vaddr)); err != nil {
			return nil, fmt.Errorf("%s: %w", m.name, err)
		}
	}
	return buf, nil
}

// readRange reads [start, end) as a command line or environment: NUL-separated
// strings, at most maxMemRead bytes of them.
func (m *taskMemory) readRange(start, end uint64) ([]byte, error) {
	if end <= start {
		return nil, nil
	}
	return m.read(start, min(end-start, maxMemRead))
}
