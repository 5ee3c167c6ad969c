package migrate

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

func psIOV(cmd uint32, nr, vaddr, dst uint64) []byte {
	b := make([]byte, psIOVSize)
	binary.LittleEndian.PutUint32(b, cmd)
	binary.LittleEndian.PutUint64(b[8:], nr)
	binary.LittleEndian.PutUint64(b[16:], vaddr)
	binary.LittleEndian.PutUint64(b[24:], dst)
	return b
}

func pages(n int, fill byte) []byte { return bytes.Repeat([]byte{fill}, n*psPageSize) }

// tcpPair is a connected loopback TCP pair.
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	_ = a.SetDeadline(time.Now().Add(time.Minute))
	return a, b
}

// TestPageFront: a request the prefetched pages cover is answered at once, with
// no more pages than were prefetched; one they do not is sent to the source;
// answers reach the daemon in the order it asked, even when a local answer is
// ready before the source's.
func TestPageFront(t *testing.T) {
	upR, upW := io.Pipe()
	f := newPageFront(newWire(bytes.NewReader(nil), upW, nil), framePagesUp)
	src := newWire(upR, io.Discard, nil)
	daemon, front := tcpPair(t)
	f.attach(front)

	f.store(append(psIOV(psAnswerCmd, 2, 0x10000, 1), pages(2, 0xaa)...))
	// Covered: answered from the cache, 2 of the 4 pages asked for.
	if _, err := daemon.Write(psIOV(psIOVGet, 4, 0x10000, 1)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, psIOVSize+2*psPageSize)
	if _, err := io.ReadFull(daemon, got); err != nil {
		t.Fatal(err)
	}
	if n := binary.LittleEndian.Uint64(got[8:]); n != 2 || !bytes.Equal(got[psIOVSize:], pages(2, 0xaa)) {
		t.Fatalf("local answer: %d pages, want the 2 prefetched", n)
	}

	// Not covered: goes to the source; a covered one after it waits for it.
	f.store(append(psIOV(psAnswerCmd, 1, 0x40000, 1), pages(1, 0xcc)...))
	if _, err := daemon.Write(append(psIOV(psIOVGet, 1, 0x30000, 1), psIOV(psIOVGet, 1, 0x40000, 1)...)); err != nil {
		t.Fatal(err)
	}
	k, b, err := src.Recv()
	if err != nil || k != framePagesUp || binary.LittleEndian.Uint64(b[16:]) != 0x30000 {
		t.Fatalf("the source got frame %d %x (%v), want the GET of 0x30000", k, b, err)
	}
	answer := append(psIOV(psAnswerCmd, 1, 0x30000, 1), pages(1, 0xbb)...)
	f.deliver(answer[:10]) // in pieces, as the stream cuts it
	f.deliver(answer[10:100])
	f.deliver(answer[100:])
	got = make([]byte, 2*(psIOVSize+psPageSize))
	if _, err := io.ReadFull(daemon, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[:len(answer)], answer) || !bytes.Equal(got[len(answer)+psIOVSize:], pages(1, 0xcc)) {
		t.Fatal("the daemon got its answers out of order or changed")
	}
	if f.hits.Load() != 2 || f.misses.Load() != 1 {
		t.Errorf("hits %d misses %d, want 2 and 1", f.hits.Load(), f.misses.Load())
	}
}

// TestRelayPrefetch: the relay asks the page server for every lazy range on its
// own, in 256-page requests, hands the answers to the sink, still serves the
// daemon's own requests on the same connection, and commits after it.
func TestRelayPrefetch(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // a page server: each GET gets its pages, filled with the request's dst
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		req := make([]byte, psIOVSize)
		for {
			if _, err := io.ReadFull(c, req); err != nil {
				return
			}
			if binary.LittleEndian.Uint32(req) == psIOVClose {
				_, _ = c.Write(make([]byte, 4))
				continue
			}
			nr := binary.LittleEndian.Uint64(req[8:])
			_, _ = c.Write(append(append([]byte(nil), req...), pages(int(nr), req[24])...))
		}
	}()
	rl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	relay, err := newPageRelay(rl, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 100)
	relay.startPrefetch([]pageRange{{dst: 1, vaddr: 0x100000, pages: 300}, {dst: 2, vaddr: 0x200000, pages: 5}},
		func(b []byte) error { got <- b; return nil })
	daemon, err := net.Dial("tcp", rl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer daemon.Close()
	if _, err := daemon.Write(psIOV(psIOVGet, 3, 0x900000, 7)); err != nil {
		t.Fatal(err)
	}
	ans := make([]byte, psIOVSize+3*psPageSize)
	if _, err := io.ReadFull(daemon, ans); err != nil || !bytes.Equal(ans[psIOVSize:], pages(3, 7)) {
		t.Fatalf("the daemon's own request: %v", err)
	}
	want := []struct{ dst, vaddr, nr uint64 }{{1, 0x100000, 256}, {1, 0x100000 + 256*psPageSize, 44}, {2, 0x200000, 5}}
	for _, w := range want {
		select {
		case b := <-got:
			if binary.LittleEndian.Uint64(b[24:]) != w.dst || binary.LittleEndian.Uint64(b[16:]) != w.vaddr ||
				binary.LittleEndian.Uint64(b[8:]) != w.nr || len(b) != psIOVSize+int(w.nr)*psPageSize || b[psIOVSize] != byte(w.dst) {
				t.Fatalf("prefetched %x..., want %+v", b[:psIOVSize], w)
			}
		case <-time.After(time.Minute):
			t.Fatalf("no prefetched answer for %+v", w)
		}
	}
	if _, err := daemon.Write(psIOV(psIOVClose, 0, 0, 0)); err != nil {
		t.Fatal(err)
	}
	if err := endOf(t, relay.ended); err != nil {
		t.Fatal(err)
	}
	if err := relay.commit(); err != nil {
		t.Fatalf("commit after prefetching: %v", err)
	}
	if n := relay.pf.bytes.Load(); n != 305*psPageSize {
		t.Errorf("prefetched %d bytes, want %d", n, 305*psPageSize)
	}
}

// TestPageFrontWaitsForPrefetch: a request just past what the prefetch has
// brought waits for it and is answered from it, not sent to the source; one
// far ahead goes to the source at once; a wait the prefetch never ends goes
// to the source after waitLimit; answers keep the daemon's order.
func TestPageFrontWaitsForPrefetch(t *testing.T) {
	upR, upW := io.Pipe()
	f := newPageFront(newWire(bytes.NewReader(nil), upW, nil), framePagesUp)
	src := newWire(upR, io.Discard, nil)
	toSource := make(chan uint64, 4)
	go func() {
		for {
			k, b, err := src.Recv()
			if err != nil || k != framePagesUp || len(b) < psIOVSize {
				return
			}
			toSource <- binary.LittleEndian.Uint64(b[16:])
		}
	}()
	daemon, front := tcpPair(t)
	f.attach(front)
	const base = 0x100000
	f.store(append(psIOV(psAnswerCmd, 1, base, 1), pages(1, 0xa1)...))
	ask := func(vaddr uint64) {
		if _, err := daemon.Write(psIOV(psIOVGet, 1, vaddr, 1)); err != nil {
			t.Fatal(err)
		}
	}
	answer := func(want byte) {
		t.Helper()
		got := make([]byte, psIOVSize+psPageSize)
		if _, err := io.ReadFull(daemon, got); err != nil {
			t.Fatal(err)
		}
		if got[psIOVSize] != want {
			t.Fatalf("the daemon got pages of %#x, want %#x", got[psIOVSize], want)
		}
	}

	ask(base + psPageSize)  // next to the prefetch's reach: waits
	ask(base + 2*waitAhead) // far ahead: to the source now
	if v := <-toSource; v != base+2*waitAhead {
		t.Fatalf("the source got %#x first, want the far request", v)
	}
	f.store(append(psIOV(psAnswerCmd, 1, base+psPageSize, 1), pages(1, 0xa2)...))
	answer(0xa2)
	f.deliver(append(psIOV(psAnswerCmd, 1, base+2*waitAhead, 1), pages(1, 0xb1)...))
	answer(0xb1)

	start := time.Now()
	f.mu.Lock()
	f.first = start // the prefetch's rate is not measured yet: it may wait the full waitAhead
	f.mu.Unlock()
	ask(base + 3*psPageSize) // waits, and the prefetch never brings it
	select {
	case v := <-toSource:
		if v != base+3*psPageSize || time.Since(start) < waitLimit {
			t.Fatalf("the source got %#x after %v, want %#x after %v", v, time.Since(start), base+3*psPageSize, waitLimit)
		}
	case <-time.After(waitLimit + 10*time.Second):
		t.Fatal("a wait the prefetch did not end never went to the source")
	}
	f.deliver(append(psIOV(psAnswerCmd, 1, base+3*psPageSize, 1), pages(1, 0xb2)...))
	answer(0xb2)
	if f.waited.Load() != 2 || f.misses.Load() != 2 {
		t.Errorf("waited %d, sent to the source %d; want 2 and 2", f.waited.Load(), f.misses.Load())
	}
}
