package migrate

import (
	"time"
)

// A daemon's request for pages the prefetch has not brought yet but is about
// to waits for them instead of going to the source: its answer would come
// back behind everything the prefetch already has in flight anyway, and would
// bring those pages a second time. Measured over a 1 Gbit/s link at 256 MiB,
// sending such requests on cost 29 round trips of ~100 ms each and 48 MiB of
// pages sent twice (19% more on the wire). A request far ahead of the prefetch
// (a page fault) still goes to the source at once, and a wait that lasts too
// long (a stalled or ended prefetch) is sent on after all.
const (
	waitAhead = 16 << 20        // at most this many bytes past the prefetch's reach a request may wait for,
	waitLimit = 1 * time.Second // and no more than the prefetch brings in half of this; then it goes to the source
)

// coming: the prefetch of process dst has reached close below vaddr, so it
// brings vaddr soon (it goes through each process's pages in address order);
// f.mu held.
func (f *pageFront) coming(dst, vaddr uint64) bool {
	r, ok := f.reach[dst]
	if !ok || vaddr < r {
		return false
	}
	ahead := uint64(waitAhead)
	if t := time.Since(f.first); t > 100*time.Millisecond { // the prefetch's rate so far (a slow link waits less far)
		ahead = min(ahead, uint64(float64(f.cached.Load())/t.Seconds()*waitLimit.Seconds()/2))
	}
	return vaddr-r < ahead
}

// fillWaits answers the waiting requests that the cache now covers; f.mu held.
func (f *pageFront) fillWaits() {
	for _, a := range f.pending {
		if a.wait == nil {
			continue
		}
		if b := f.take(a.wait.dst, a.wait.vaddr, a.wait.nr); b != nil {
			f.hits.Add(1)
			f.hitPages.Add(int64(len(b)-psIOVSize) / psPageSize)
			a.local, a.wait = b, nil
		}
	}
	f.flush()
}

// expireWaits sends the requests that waited longer than waitLimit to the
// source, until the daemon's connection is closed.
func (f *pageFront) expireWaits() {
	tick := time.NewTicker(waitLimit / 10)
	defer tick.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-tick.C:
		}
		f.sendMu.Lock()
		f.mu.Lock()
		var reqs [][]byte
		for _, a := range f.pending {
			if a.wait != nil && time.Since(a.wait.since) >= waitLimit {
				reqs = append(reqs, a.wait.req)
				a.wait = nil
				f.misses.Add(1)
				f.fwd = append(f.fwd, a)
			}
		}
		f.mu.Unlock()
		for _, r := range reqs {
			if f.w.Send(f.up, r) != nil {
				break
			}
		}
		f.sendMu.Unlock()
	}
}
