package migrate

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// frame is one received frame.
type frame struct {
	kind byte
	data []byte
}

// demux reads the wire on its own goroutine: lazy-page bytes go straight to
// pages (so they flow while the control side waits for a reply), every
// other frame to ctrl. ctrl is closed when the stream ends; err then says why.
type demux struct {
	w     *wire
	ctrl  chan frame
	pages func(kind byte, data []byte)
	err   error
	done  chan struct{}
}

func startDemux(w *wire, pages func(kind byte, data []byte)) *demux {
	d := &demux{w: w, ctrl: make(chan frame, 64), pages: pages, done: make(chan struct{})}
	in, errc := make(chan frame), make(chan error, 1)
	go func() { // the reader: may stay blocked on a dead link after the demux gave up
		for {
			k, b, err := w.Recv()
			if err != nil {
				errc <- err
				return
			}
			if k == frameAlive {
				continue
			}
			select {
			case in <- frame{k, b}:
			case <-d.done:
				return
			}
		}
	}()
	go func() {
		defer close(d.done)
		defer close(d.ctrl)
		defer w.sendAlive()()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case f := <-in:
				if f.kind == framePagesUp || f.kind == framePagesDown || f.kind == framePrefetch {
					d.pages(f.kind, f.data)
				} else {
					d.ctrl <- f
				}
				// Time spent handing the frame on (a slow disk, a busy CRIU)
				// held the reader back: it is not silence of the link.
				w.lastRead.Store(time.Now().UnixNano())
			case err := <-errc:
				d.err = linkLost(err)
				return
			case <-tick.C:
				if idle := w.idle(); idle > aliveTimeout {
					d.err = silentFor(idle)
					_ = w.Close() // unblocks the reader where the stream can be closed
					return
				}
			}
		}
	}()
	return d
}

// next returns the next control frame, or the reason the stream ended.
func (d *demux) next() (frame, error) {
	f, ok := <-d.ctrl
	if !ok {
		<-d.done
		return frame{}, d.err
	}
	return f, nil
}

// expect is wire.Expect over the demux.
func (d *demux) expect(kind byte, v any) error {
	f, err := d.next()
	if err != nil {
		return err
	}
	return decodeFrame(f, kind, v)
}

func decodeFrame(f frame, kind byte, v any) error {
	if f.kind == frameError || f.kind == frameAbort {
		var rep wireReply
		_ = json.Unmarshal(f.data, &rep)
		return &peerError{Msg: rep.Error}
	}
	if f.kind != kind {
		return fmt.Errorf("protocol error: expected frame %d, got %d", kind, f.kind)
	}
	if v == nil || len(f.data) == 0 {
		return nil
	}
	return json.Unmarshal(f.data, v)
}

// tunnel carries one TCP connection (the lazy-pages daemon's page-server
// connection) over the wire: bytes read from conn are sent as frames of kind
// up, frames received are written to conn; an empty frame is the end of the
// stream (the receiver half-closes its side).
type tunnel struct {
	w      *wire
	up     byte
	mu     sync.Mutex
	conn   net.Conn
	dial   func() (net.Conn, error) // source side: connect on the first frame
	closed bool
	bytes  atomic.Int64 // payload bytes received from the wire
}

// attach gives the tunnel its connection and starts pumping it to the wire.
func (t *tunnel) attach(c net.Conn) {
	t.mu.Lock()
	t.conn = c
	t.mu.Unlock()
	go func() {
		buf := make([]byte, 256<<10)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if t.w.Send(t.up, buf[:n]) != nil {
					return
				}
			}
			if err != nil {
				_ = t.w.Send(t.up, nil)
				return
			}
		}
	}()
}

// deliver writes a received frame to the connection (dialing it first on the
// source side). Errors close the connection: the page relay or the daemon
// notices and the migration's control side decides.
func (t *tunnel) deliver(data []byte) {
	t.mu.Lock()
	if t.conn == nil && t.dial != nil && !t.closed {
		c, err := t.dial()
		if err != nil {
			t.closed = true
			t.mu.Unlock()
			return
		}
		t.mu.Unlock()
		t.attach(c)
		t.mu.Lock()
	}
	c := t.conn
	t.mu.Unlock()
	if c == nil {
		return
	}
	if len(data) == 0 {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		} else {
			c.Close()
		}
		return
	}
	t.bytes.Add(int64(len(data)))
	if _, err := c.Write(data); err != nil {
		c.Close()
	}
}

// receiveFile writes one image file announced by f into dir from the frames
// that follow, and returns its size.
func receiveFile(d *demux, dir string, f wireFile) (int64, error) {
	name := f.Name
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." || filepath.Base(name) != name {
		return 0, fmt.Errorf("refused image file name %q", name)
	}
	out, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	defer out.Close()
	var n int64
	for {
		fr, err := d.next()
		if err != nil {
			return n, err
		}
		switch fr.kind {
		case frameData:
			if f.Size != growingSize && n+int64(len(fr.data)) > f.Size {
				return n, fmt.Errorf("image file %s is longer than announced (%d bytes)", name, f.Size)
			}
			if _, err := out.Write(fr.data); err != nil {
				return n, err
			}
			n += int64(len(fr.data))
		case frameFileEnd:
			if f.Size == growingSize { // streamed while CRIU wrote it: the size comes now
				if f.Size, err = growingEnd(fr.data); err != nil {
					return n, err
				}
			}
			if n != f.Size {
				return n, fmt.Errorf("image file %s: %d of %d bytes arrived", name, n, f.Size)
			}
			return n, out.Close()
		default:
			return n, decodeFrame(fr, frameFileEnd, nil)
		}
	}
}

// sendFile streams one file as frameFile, frameData..., frameFileEnd.
func sendFile(w *wire, path string) (int64, error) {
	in, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return 0, err
	}
	if err := w.SendJSON(frameFile, wireFile{Name: filepath.Base(path), Size: fi.Size()}); err != nil {
		return 0, linkLost(err)
	}
	buf := make([]byte, 1<<20)
	var n int64
	for {
		k, rerr := in.Read(buf)
		if k > 0 {
			if err := w.Send(frameData, buf[:k]); err != nil {
				return n, linkLost(err)
			}
			n += int64(k)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return n, rerr
		}
	}
	if n != fi.Size() {
		return n, fmt.Errorf("image file %s changed while it was sent", path)
	}
	return n, linkLost0(w.Send(frameFileEnd, nil))
}

func linkLost0(err error) error {
	if err == nil {
		return nil
	}
	return linkLost(err)
}
