package migrate

import (
	"encoding/binary"
	"io"
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

	sendMu          sync.Mutex // held from queueing a request for the source to sending it: fwd's order is the source's
	mu              sync.Mutex
	conn            net.Conn
	closed          bool
	srcEnded, ended bool                 // the source's side has ended; so has the daemon's
	pending         []*frontAnswer       // the daemon's requests not answered yet, in order
	fwd             []*frontAnswer       // those sent to the source, in the order sent
	cache           map[uint64][]*pchunk // prefetched pages by process, sorted by address
	reach           map[uint64]uint64    // by process: the end of the highest prefetched pages
	first           time.Time            // when the first prefetched pages came

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

func newPageFront(w *wire, up byte) *pageFront {
	return &pageFront{w: w, up: up, cache: map[uint64][]*pchunk{}, reach: map[uint64]uint64{}, stop: make(chan struct{})}
}

// store keeps a prefetched answer (header and pages as the page server sent it).
func (f *pageFront) store(b []byte) {
	if len(b) < psIOVSize {
		return
	}
	n := binary.LittleEndian.Uint64(b[8:16])
	if n == 0 || uint64(len(b)-psIOVSize) != n*psPageSize {
		return
	}
	vaddr, dst := binary.LittleEndian.Uint64(b[16:24]), binary.LittleEndian.Uint64(b[24:32])
	f.cached.Add(int64(len(b) - psIOVSize))
	f.mu.Lock()
	defer f.mu.Unlock()
	cs := f.cache[dst]
	i := sort.Search(len(cs), func(i int) bool { return cs[i].vaddr >= vaddr })
	cs = append(cs, nil)
	copy(cs[i+1:], cs[i:])
	cs[i] = &pchunk{vaddr: vaddr, data: b[psIOVSize:]}
	f.cache[dst] = cs
	f.reach[dst] = max(f.reach[dst], vaddr+n*psPageSize)
	if f.first.IsZero() {
		f.first = time.Now()
	}
	f.fillWaits()
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

// attach gives the front the daemon's connection and serves its requests.
func (f *pageFront) attach(c net.Conn) {
	f.mu.Lock()
	f.conn = c
	f.mu.Unlock()
	go f.expireWaits()
	go func() {
		req := make([]byte, psIOVSize)
		for {
			if _, err := io.ReadFull(c, req); err != nil {
				f.stopOnce.Do(func() { close(f.stop) })
				_ = f.w.Send(f.up, nil)
				return
			}
			if f.request(req) != nil {
				f.stopOnce.Do(func() { close(f.stop) })
				return
			}
		}
	}()
}

// request answers one of the daemon's requests from the cache, or waits for
// the prefetch, or sends it to the source.
func (f *pageFront) request(req []byte) error {
	f.sendMu.Lock()
	defer f.sendMu.Unlock()
	cmd := binary.LittleEndian.Uint32(req)
	a := &frontAnswer{close: cmd&psCmdMask != psIOVGet, left: -1}
	f.mu.Lock()
	f.pending = append(f.pending, a)
	if !a.close {
		nr, vaddr, dst := binary.LittleEndian.Uint64(req[8:16]), binary.LittleEndian.Uint64(req[16:24]), binary.LittleEndian.Uint64(req[24:32])
		if b := f.take(dst, vaddr, nr); b != nil {
			f.hits.Add(1)
			f.hitPages.Add(int64(len(b)-psIOVSize) / psPageSize)
			a.local = b
			f.flush()
			f.mu.Unlock()
			return nil
		}
		if f.coming(dst, vaddr) {
			f.waited.Add(1)
			a.wait = &frontWait{dst: dst, vaddr: vaddr, nr: nr, req: append([]byte(nil), req...), since: time.Now()}
			f.mu.Unlock()
			return nil
		}
		f.misses.Add(1)
	}
	f.fwd = append(f.fwd, a)
	f.mu.Unlock()
	return f.w.Send(f.up, req)
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

// deliver passes the source's answer bytes to the daemon, in the order of its
// requests; an empty frame is the end of the source's side.
func (f *pageFront) deliver(data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(data) == 0 { // nothing more comes from the source, prefetched pages neither
		f.flush()
		if tc, ok := f.conn.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		} else if f.conn != nil {
			f.conn.Close()
		}
		return
	}
	for len(data) > 0 {
		if len(f.fwd) == 0 {
			f.write(data) // not an answer we expect: the daemon decides
			return
		}
		a := f.fwd[0]
		if a.left < 0 {
			if a.close {
				a.left = 4
			} else {
				k := min(psIOVSize-len(a.buf), len(data))
				a.buf = append(a.buf, data[:k]...)
				data = data[k:]
				if len(a.buf) < psIOVSize {
					return
				}
				a.left = int64(binary.LittleEndian.Uint64(a.buf[8:16])) * psPageSize
			}
		}
		k := min(a.left, int64(len(data)))
		a.buf = append(a.buf, data[:k]...)
		data, a.left = data[k:], a.left-k
		if a.left == 0 {
			a.local, a.buf = a.buf, nil
			f.fwd = f.fwd[1:]
			f.flush()
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
