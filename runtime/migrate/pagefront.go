package migrate

import (
	"encoding/binary"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// pageFront is the target's end of the lazy-pages daemon's page-server
// connection: it answers the daemon's requests from the pages the source
// prefetched (prefetch.go) when it has them, waits for them when the prefetch
// is about to bring them (pagewait.go), and otherwise sends the requests to
// the source like the tunnel does. Answers reach the daemon in the order of
// its requests, as CRIU's page server gives them.
type pageFront struct {
	w  *wire
	up byte

	sendMu  sync.Mutex // held from queueing a request for the source to sending it: fwd's order is the source's
	mu      sync.Mutex
	conn    net.Conn
	closed  bool
	pending []*frontAnswer       // the daemon's requests not answered yet, in order
	fwd     []*frontAnswer       // those sent to the source, in the order sent
	cache   map[uint64][]*pchunk // prefetched pages by process, sorted by address
	reach   map[uint64]uint64    // by process: the end of the highest prefetched pages
	first   time.Time            // when the first prefetched pages came

	stop     chan struct{} // closed when the daemon's connection ends
	stopOnce sync.Once

	hits, hitPages, misses, waited atomic.Int64
	cached                         atomic.Int64 // prefetched bytes received
}

// frontAnswer is one answer the daemon waits for: local (ready), waiting for
// the prefetch (wait), or from the source (need bytes, known once its header
// is in; a CLOSE's answer is 4), gathered in buf until complete.
type frontAnswer struct {
	local []byte
	close bool
	buf   []byte
	left  int64
	wait  *frontWait
}

// pchunk is one prefetch answer: pages from vaddr, used counts pages served.
type pchunk struct {
	vaddr uint64
	data  []byte
	used  int
}

// frontWait is a request waiting for the prefetch.
type frontWait struct {
	dst, vaddr, nr uint64
	req            []byte
	since          time.Time
}

func newPageFront(w *wire, up byte) *pageFront {
	return &pageFront{w: w, up: up, cache: map[uint64][]*pchunk{}, reach: map[uint64]uint64{}, stop: make(chan struct{})}
}

// take answers a GET from the cache (nil: not there); f.mu held.
func (f *pageFront) take(dst, vaddr, nr uint64) []byte {
	cs := f.cache[dst]
	i := sort.Search(len(cs), func(i int) bool { return cs[i].vaddr+uint64(len(cs[i].data)) > vaddr })
	if i == len(cs) || cs[i].vaddr > vaddr || nr == 0 {
		return nil
	}
	c := cs[i]
	off := vaddr - c.vaddr
	k := min(nr, (uint64(len(c.data))-off)/psPageSize)
	b := make([]byte, psIOVSize+k*psPageSize)
	binary.LittleEndian.PutUint32(b, psAnswerCmd)
	binary.LittleEndian.PutUint64(b[8:], k)
	binary.LittleEndian.PutUint64(b[16:], vaddr)
	binary.LittleEndian.PutUint64(b[24:], dst)
	copy(b[psIOVSize:], c.data[off:off+k*psPageSize])
	if c.used += int(k); c.used*psPageSize >= len(c.data) {
		f.cache[dst] = append(cs[:i], cs[i+1:]...)
	}
	return b
}

// flush writes the ready local answers at the head of pending; f.mu held.
func (f *pageFront) flush() {
	for len(f.pending) > 0 && f.pending[0].local != nil {
		f.write(f.pending[0].local)
		f.pending = f.pending[1:]
	}
}

func (f *pageFront) write(b []byte) {
	if f.conn != nil && !f.closed {
		if _, err := f.conn.Write(b); err != nil {
			f.conn.Close()
			f.closed = true
		}
	}
}

// close ends the daemon's connection.
func (f *pageFront) close() {
	f.stopOnce.Do(func() { close(f.stop) })
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	if f.conn != nil {
		f.conn.Close()
	}
}
