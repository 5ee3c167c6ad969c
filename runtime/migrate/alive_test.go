package migrate

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// Two demuxes on a stream that carries nothing else stay up on their
// heartbeats; once one side falls silent (a dead link), the other gives the
// stream up as lost.
func TestDemuxHeartbeats(t *testing.T) {
	every, timeout := aliveEvery, aliveTimeout
	aliveEvery, aliveTimeout = 100*time.Millisecond, 1500*time.Millisecond
	defer func() { aliveEvery, aliveTimeout = every, timeout }()
	abR, abW := io.Pipe()
	baR, baW := io.Pipe()
	a := startDemux(newWire(baR, abW, abW), func(byte, []byte) {})
	b := startDemux(newWire(abR, baW, baW), func(byte, []byte) {})
	got := make(chan error, 2)
	go func() { _, err := a.next(); got <- err }()
	select {
	case err := <-got:
		t.Fatalf("a heartbeating stream ended: %v", err)
	case <-time.After(3 * aliveTimeout):
	}
	// The link dies: b's heartbeats stop reaching a, and a's reach nobody.
	stall := &stallWriter{}
	b.w.mu.Lock()
	b.w.w.Reset(stall)
	b.w.mu.Unlock()
	go func() { _, _ = io.Copy(io.Discard, abR) }()
	select {
	case err := <-got:
		if !errors.Is(err, errLinkLost) || !strings.Contains(err.Error(), "nothing arrived") {
			t.Fatalf("a silent link: %v", err)
		}
	case <-time.After(5 * aliveTimeout):
		t.Fatal("the demux waited on a silent link")
	}
}

// stallWriter takes writes and delivers nothing, as a dead link does.
type stallWriter struct{}

func (*stallWriter) Write(p []byte) (int, error) { return len(p), nil }

// A frame whose handling takes longer than the timeout (a slow disk, a busy
// CRIU) holds the reader back; that is not a silent link.
func TestDemuxSlowHandlingIsNotSilence(t *testing.T) {
	every, timeout := aliveEvery, aliveTimeout
	aliveEvery, aliveTimeout = time.Hour, 1500*time.Millisecond // the peer sends no heartbeat
	defer func() { aliveEvery, aliveTimeout = every, timeout }()
	r, w := io.Pipe()
	peer := newWire(nil, w, w)
	d := startDemux(newWire(r, io.Discard, nil), func(byte, []byte) { time.Sleep(2 * aliveTimeout) })
	go func() {
		_ = peer.Send(framePrefetch, []byte("page"))
		time.Sleep(2*aliveTimeout + aliveTimeout/3) // the next frame once the handling is over
		_ = peer.Send(frameCommit, nil)
	}()
	if f, err := d.next(); err != nil || f.kind != frameCommit {
		t.Fatalf("after a slow page frame: %d %v, want the commit", f.kind, err)
	}
}
