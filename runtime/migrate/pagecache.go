package migrate

import (
	"encoding/binary"
	"io"
	"net"
	"sort"
	"time"
)

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
