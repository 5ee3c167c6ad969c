package migrate

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestWireFrames(t *testing.T) {
	var buf bytes.Buffer
	w := newWire(&buf, &buf, nil)
	if err := w.SendJSON(frameHello, wireHello{Version: wireVersion, ID: "a"}); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte{7}, 1<<20)
	if err := w.Send(frameData, big); err != nil {
		t.Fatal(err)
	}
	if err := w.SendJSON(frameError, wireReply{Error: "no room"}); err != nil {
		t.Fatal(err)
	}
	var h wireHello
	if err := w.Expect(frameHello, &h); err != nil || h.ID != "a" || h.Version != wireVersion {
		t.Fatalf("hello: %+v %v", h, err)
	}
	k, b, err := w.Recv()
	if err != nil || k != frameData || !bytes.Equal(b, big) {
		t.Fatalf("data: kind %d len %d err %v", k, len(b), err)
	}
	var pe *peerError
	if err := w.Expect(frameRestored, nil); !errors.As(err, &pe) || pe.Msg != "no room" {
		t.Fatalf("peer error: %v", err)
	}
	if err := w.Expect(frameRestored, nil); !errors.Is(err, errLinkLost) {
		t.Fatalf("EOF: %v", err)
	}
	if w.Sent != w.Received || w.Sent == 0 {
		t.Fatalf("counted %d sent, %d received", w.Sent, w.Received)
	}
}

func TestWireRefusesHugeFrame(t *testing.T) {
	w := newWire(bytes.NewReader([]byte{frameData, 0xff, 0xff, 0xff, 0xff}), io.Discard, nil)
	if _, _, err := w.Recv(); err == nil {
		t.Fatal("a 4 GiB frame was accepted")
	}
	if err := w.Send(frameData, make([]byte, maxFrame+1)); err == nil {
		t.Fatal("sent a frame over the limit")
	}
}
