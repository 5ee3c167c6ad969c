package migrate

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer"
)

// The wire protocol of a migration to another host: one byte stream (the ssh
// session's stdin/stdout between `mycr migrate` and `mycr migrate-receive`)
// carries length-prefixed frames {u8 kind; u32 big-endian length; payload}.
// Control messages are JSON; image files and the lazy-page connection travel
// as raw byte frames, so no other connection is ever opened between the hosts.
const (
	frameHello     = 1  // source -> target: wireHello
	frameChecked   = 2  // target -> source: wireReply (the target can restore it, or why not)
	frameFile      = 3  // source -> target: wireFile, followed by frameData frames and frameFileEnd
	frameData      = 4  // bytes of the current file
	frameFileEnd   = 5  // end of the current file
	frameRestore   = 6  // source -> target: restore now (wireRestore)
	frameRestored  = 7  // target -> source: wireReply with the target's pid, or the error
	framePagesUp   = 8  // target -> source: bytes the lazy-pages daemon sent to its page server
	framePagesDown = 9  // source -> target: bytes the page server answered
	framePagesDone = 10 // target -> source: the lazy-pages daemon has every page and exited 0
	frameCommit    = 11 // source -> target: the target is the container now
	frameCommitted = 12 // target -> source: commit received
	frameAbort     = 13 // source -> target: destroy what you made (wireReply.Error says why)
	frameError     = 14 // target -> source: the target failed (wireReply)
	frameLazyStart = 15 // source -> target: start criu lazy-pages (before frameRestore)
	frameLazyReady = 16 // target -> source: wireReply, the daemon listens for the restore
	framePrefetch  = 17 // source -> target: a page server answer the relay asked for ahead of the daemon
	// 18-20: the direct channel's handshake (direct.go); 21: heartbeat (alive.go)
)

// maxFrame bounds one frame: a broken or hostile peer cannot make us allocate more.
const maxFrame = 4 << 20

// wireHello opens a migration: what the target must check and prepare.
type wireHello struct {
	Version     int               `json:"version"`
	ID          string            `json:"id"`
	TargetID    string            `json:"target_id"`
	Bundle      string            `json:"bundle"`
	RemapMounts map[string]string `json:"remap_mounts,omitempty"`
	Mode        string            `json:"mode"`
	// Meta is the checkpoint's metadata as it will be written (arch, CRIU
	// version, what the images need): the target compares it with itself.
	Meta json.RawMessage `json:"meta"`
	// ImagePath is the target's image dir ("" = a private one under $TMPDIR).
	ImagePath string `json:"image_path,omitempty"`
	// Stdio is where the target container's stdio goes: "null" or a file path on the target.
	Stdio string `json:"stdio,omitempty"`
	// PidFile is a file on the target for the restored container's init pid.
	PidFile string `json:"pid_file,omitempty"`
	// Criu is the user's CRIU options the restore repeats.
	Criu wireCriu `json:"criu"`
	// Net is the container's network identity to re-create there (veth.go).
	Net *wireNet `json:"net,omitempty"`
}

// wireVersion is this protocol's version; a target speaking another refuses.
const wireVersion = 2 // 2: the direct channel's handshake (direct.go) opens the stream

// wireFile announces an image file.
type wireFile struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

// wireRestore asks the target to restore.
type wireRestore struct {
	Lazy bool `json:"lazy"`
}

// wireReply is the target's answer.
type wireReply struct {
	OK        bool    `json:"ok"`
	Error     string  `json:"error,omitempty"`
	Pid       int     `json:"pid,omitempty"`
	Host      string  `json:"host,omitempty"`
	RestoreMs float64 `json:"restore_ms,omitempty"`
	ImageDir  string  `json:"image_dir,omitempty"`
	// Prefetch: the target answers its lazy-pages daemon from framePrefetch pages.
	Prefetch bool `json:"prefetch,omitempty"`
}

// wire is one end of the framed stream. Send is safe for concurrent use;
// Recv is for one reader.
type wire struct {
	mu sync.Mutex
	w  *bufio.Writer
	r  *bufio.Reader
	c  io.Closer
	// Sent and Received count the bytes of frames, headers included.
	Sent, Received int64
	lastRead       atomic.Int64 // when bytes last arrived (alive.go)
}

func newWire(r io.Reader, w io.Writer, c io.Closer) *wire {
	wr := &wire{w: bufio.NewWriterSize(w, 256<<10), c: c}
	wr.lastRead.Store(time.Now().UnixNano())
	wr.r = bufio.NewReaderSize(stampReader{r, &wr.lastRead}, 256<<10)
	return wr
}

// Send writes one frame and flushes it.
func (w *wire) Send(kind byte, payload []byte) error {
	if len(payload) > maxFrame {
		return fmt.Errorf("frame of %d bytes is too big", len(payload))
	}
	var hdr [5]byte
	hdr[0] = kind
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(payload)))
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.w.Write(hdr[:]); err != nil {
		return err
	}
	if _, err := w.w.Write(payload); err != nil {
		return err
	}
	w.Sent += int64(len(hdr) + len(payload))
	return w.w.Flush()
}

// SendJSON sends v as a JSON frame.
func (w *wire) SendJSON(kind byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return w.Send(kind, b)
}

// Recv reads one frame. io.EOF means the peer closed between frames.
func (w *wire) Recv() (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(w.r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("frame of %d bytes is too big (not a mycr migration stream?)", n)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(w.r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	w.Received += int64(len(hdr)) + int64(n)
	return hdr[0], buf, nil
}

// Expect reads one frame of the given kind into v (JSON); a frameError or
// frameAbort becomes an error with the peer's reason.
func (w *wire) Expect(kind byte, v any) error {
	k, b, err := w.Recv()
	if err != nil {
		return linkLost(err)
	}
	if k == frameError || k == frameAbort {
		var rep wireReply
		_ = json.Unmarshal(b, &rep)
		return &peerError{Msg: rep.Error}
	}
	if k != kind {
		return fmt.Errorf("protocol error: expected frame %d, got %d", kind, k)
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(b, v)
}

// Close closes the underlying stream.
func (w *wire) Close() error {
	if w.c == nil {
		return nil
	}
	return w.c.Close()
}

// peerError is a failure the other side reported.
type peerError struct{ Msg string }

func (e *peerError) Error() string { return e.Msg }

// errLinkLost marks the end of the stream: the ssh session or the link is gone.
var errLinkLost = errors.New("the link to the other host was lost")

func linkLost(err error) error {
	switch {
	case errors.Is(err, errLinkLost):
		return err
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w (the stream ended)", errLinkLost)
	case errors.Is(err, os.ErrClosed) || errors.Is(err, syscall.EPIPE):
		return fmt.Errorf("%w (the ssh session ended)", errLinkLost)
	}
	return fmt.Errorf("%w: %v", errLinkLost, err)
}

// wireCriu is the part of the user's CRIU options the restore repeats.
type wireCriu struct {
	TCPEstablished bool   `json:"tcp_established,omitempty"`
	ExtUnixSk      bool   `json:"ext_unix_sk,omitempty"`
	FileLocks      bool   `json:"file_locks,omitempty"`
	ManageCgroups  string `json:"manage_cgroups_mode,omitempty"`
}

func criuToWire(o libcontainer.CriuOpts) wireCriu {
	return wireCriu{TCPEstablished: o.TcpEstablished, ExtUnixSk: o.ExternalUnixConnections,
		FileLocks: o.FileLocks, ManageCgroups: o.ManageCgroupsMode}
}

func (c wireCriu) apply(o *libcontainer.CriuOpts) {
	o.TcpEstablished, o.ExternalUnixConnections, o.FileLocks = c.TCPEstablished, c.ExtUnixSk, c.FileLocks
	o.ManageCgroupsMode = c.ManageCgroups
}

// stampReader records when bytes last arrived.
type stampReader struct {
	r    io.Reader
	last *atomic.Int64 // unix nanoseconds
}

func (s stampReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.last.Store(time.Now().UnixNano())
	}
	return n, err
}

// growingSize announces a file whose size comes with its frameFileEnd.
const growingSize = -1

// growingEnd reads the final size a growing file's frameFileEnd carries.
func growingEnd(data []byte) (int64, error) {
	var f wireFile
	if err := json.Unmarshal(data, &f); err != nil {
		return 0, fmt.Errorf("bad end of a streamed image: %w", err)
	}
	return f.Size, nil
}
