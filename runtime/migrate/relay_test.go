package migrate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

// pageServer is a stand-in for CRIU's lazy page server on loopback: it records
// the commands it reads, answers each GET with page, and hands the connection's
// end (nil: a clean FIN) to ended.
type pageServer struct {
	ln    net.Listener
	cmds  chan uint32
	ended chan error
	page  []byte
}

func startPageServer(t *testing.T, page []byte) *pageServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &pageServer{ln: ln, cmds: make(chan uint32, 16), ended: make(chan error, 1), page: page}
	go s.serve()
	return s
}

func (s *pageServer) serve() {
	conn, err := s.ln.Accept()
	if err != nil {
		s.ended <- err
		return
	}
	defer conn.Close()
	buf := make([]byte, psIOVSize)
	for {
		if _, err := io.ReadFull(conn, buf); err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			s.ended <- err
			return
		}
		cmd := binary.LittleEndian.Uint32(buf)
		s.cmds <- cmd
		var answer []byte
		switch cmd {
		case psIOVGet:
			answer = append(append([]byte(nil), buf...), s.page...)
			binary.LittleEndian.PutUint64(answer[8:], uint64(len(s.page)/psPageSize))
		case psIOVClose:
			answer = make([]byte, 4) // status 0
		}
		if _, err := conn.Write(answer); err != nil {
			s.ended <- err
			return
		}
	}
}

func iov(cmd uint32) []byte {
	b := make([]byte, psIOVSize)
	binary.LittleEndian.PutUint32(b, cmd)
	return b
}

// relayWithDaemon starts a relay in front of s and connects a lazy-pages
// daemon stand-in to it.
func relayWithDaemon(t *testing.T, s *pageServer) (*pageRelay, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	relay, err := newPageRelay(ln, s.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	daemon, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { daemon.Close() })
	_ = daemon.SetDeadline(time.Now().Add(time.Minute))
	return relay, daemon
}

func expectCmd(t *testing.T, s *pageServer, want uint32) {
	t.Helper()
	select {
	case got := <-s.cmds:
		if got != want {
			t.Fatalf("the page server got command %#x, want %#x", got, want)
		}
	case <-time.After(time.Minute):
		t.Fatalf("the page server got no command (want %#x)", want)
	}
}

func endOf(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(time.Minute):
		t.Fatal("no end within a minute")
		return nil
	}
}

// TestPageRelayCommit: pages reach the daemon and are counted; the daemon's
// CLOSE is answered by the relay, not passed on, so the dump only ends well
// (CLOSE, status, then a FIN) when mycr commits.
func TestPageRelayCommit(t *testing.T) {
	page := bytes.Repeat([]byte{0xab}, 4096)
	s := startPageServer(t, page)
	relay, daemon := relayWithDaemon(t, s)

	if _, err := daemon.Write(iov(psIOVGet)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, psIOVSize+len(page))
	if _, err := io.ReadFull(daemon, got); err != nil {
		t.Fatalf("the daemon got no page: %v", err)
	}
	if !bytes.Equal(got[psIOVSize:], page) {
		t.Fatal("the daemon got other bytes than the page server sent")
	}
	expectCmd(t, s, psIOVGet)

	if _, err := daemon.Write(iov(psIOVClose)); err != nil {
		t.Fatal(err)
	}
	status := make([]byte, 4)
	if _, err := io.ReadFull(daemon, status); err != nil || binary.LittleEndian.Uint32(status) != 0 {
		t.Fatalf("the relay's answer to the daemon's CLOSE: %v %v", status, err)
	}
	if err := endOf(t, relay.ended); err != nil {
		t.Fatalf("the daemon side ended with %v after a CLOSE", err)
	}
	select {
	case cmd := <-s.cmds:
		t.Fatalf("the daemon's CLOSE reached the page server before the commit (%#x)", cmd)
	default:
	}
	if n := relay.pageBytes.Load(); n != int64(len(got)) {
		t.Errorf("pageBytes = %d, want %d", n, len(got))
	}

	if err := relay.commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
	expectCmd(t, s, psIOVClose)
	if err := endOf(t, s.ended); err != nil {
		t.Fatalf("the page server saw %v after the commit, want a clean end", err)
	}
}

// TestPageRelayAbort: a daemon that leaves without CLOSE is an error, and abort
// makes the page server fail (unknown command, then a reset), so CRIU resumes
// the source instead of taking the end as "every page moved".
func TestPageRelayAbort(t *testing.T) {
	s := startPageServer(t, nil)
	relay, daemon := relayWithDaemon(t, s)
	daemon.Close()
	if err := endOf(t, relay.ended); err == nil {
		t.Fatal("a daemon that left without CLOSE ended the transfer well")
	}
	if err := relay.commit(); err == nil {
		t.Fatal("commit succeeded without the daemon's CLOSE")
	}
	relay.abort()
	expectCmd(t, s, psIOVInvalid)
	if err := endOf(t, s.ended); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("the page server saw %v after the abort, want a connection reset", err)
	}
}

// TestAbortPageServerWithoutClient: a dump aborted before any relay connected
// gets the same unknown command and reset.
func TestAbortPageServerWithoutClient(t *testing.T) {
	s := startPageServer(t, nil)
	abortPageServer(s.ln.Addr().String())
	expectCmd(t, s, psIOVInvalid)
	if err := endOf(t, s.ended); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("the page server saw %v, want a connection reset", err)
	}
	abortPageServer("") // no page server yet: nothing to do
}
