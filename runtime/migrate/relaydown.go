package migrate

import (
	"bufio"
	"encoding/binary"
	"io"
)

// down reads the page server's answers in request order: the daemon's go to
// it, the prefetcher's to its sink, and the answer to our CLOSE to tail.
func (p *pageRelay) down() {
	defer close(p.downDone)
	r := bufio.NewReaderSize(p.dump, 256<<10)
	hdr := make([]byte, psIOVSize)
	buf := make([]byte, 256<<10)
	for {
		var kind int
		select {
		case kind = <-p.queue:
		case <-p.stop:
			return
		}
		if kind == ansClose {
			status := make([]byte, 4)
			_, err := io.ReadFull(r, status)
			p.mu.Lock()
			p.tail = status
			p.mu.Unlock()
			if err == nil {
				p.tailSeen <- struct{}{}
				_, _ = io.Copy(io.Discard, r) // until CRIU's FIN
			}
			return
		}
		if _, err := io.ReadFull(r, hdr); err != nil {
			return
		}
		n := int64(binary.LittleEndian.Uint64(hdr[8:16]))
		if n < 0 || n > maxFrame/psPageSize {
			return // not CRIU's protocol: the daemon or the commit notices
		}
		n *= psPageSize
		if kind == ansPrefetch {
			if err := p.pf.answer(r, hdr, n); err != nil {
				return
			}
			p.pageBytes.Add(psIOVSize + n)
			continue
		}
		p.mu.Lock()
		client := p.client
		p.mu.Unlock()
		out := io.Writer(io.Discard)
		if client != nil {
			out = client
		}
		if _, err := out.Write(hdr); err != nil {
			out = io.Discard // the daemon is gone; up() reports it
		}
		for left := n; left > 0; {
			k := int64(len(buf))
			if left < k {
				k = left
			}
			if _, err := io.ReadFull(r, buf[:k]); err != nil {
				return
			}
			if _, err := out.Write(buf[:k]); err != nil {
				out = io.Discard
			}
			left -= k
		}
		if out != io.Discard {
			p.pageBytes.Add(psIOVSize + n)
		}
	}
}
