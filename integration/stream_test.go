package integration

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Stream is the read end of a pipe the test holds, drained into memory by a
// goroutine: what a command or a detached container writes there can be read at
// any time, and it never blocks the writer.
type Stream struct {
	r   *os.File
	mu  sync.Mutex
	buf bytes.Buffer
	eof chan struct{}
}

// newStream makes a pipe, starts draining its read end and returns the stream and
// the write end to hand to a child. The caller closes the write end once the child
// has it; the read end is closed at EOF or when the test ends.
func newStream(t *testing.T) (*Stream, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatalf("pipe: %v", err)
	}
	s := &Stream{r: r, eof: make(chan struct{})}
	go s.drain()
	t.Cleanup(func() { r.Close() })
	return s, w
}

func (s *Stream) drain() {
	defer close(s.eof)
	b := make([]byte, 32<<10)
	for {
		n, err := s.r.Read(b)
		if n > 0 {
			s.mu.Lock()
			s.buf.Write(b[:n])
			s.mu.Unlock()
		}
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				s.r.Close()
			}
			return
		}
	}
}

// String is everything read so far.
func (s *Stream) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// EOF reports whether every write end of the pipe has been closed.
func (s *Stream) EOF() bool {
	select {
	case <-s.eof:
		return true
	default:
		return false
	}
}

// WaitEOF waits up to d for every writer to go away.
func (s *Stream) WaitEOF(d time.Duration) bool {
	select {
	case <-s.eof:
		return true
	case <-time.After(d):
		return false
	}
}

// LastInt is the last complete line that is a decimal number, or -1.
func (s *Stream) LastInt() int {
	return lastInt(s.String())
}

// Ints is every complete line that is a decimal number, in order.
func (s *Stream) Ints() []int {
	var out []int
	text := s.String()
	if i := strings.LastIndexByte(text, '\n'); i >= 0 {
		text = text[:i]
	} else {
		return nil
	}
	for _, l := range strings.Split(text, "\n") {
		if n, err := strconv.Atoi(strings.TrimSpace(l)); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// lastInt is the last complete ('\n'-terminated) line of text that is a number, or -1.
func lastInt(text string) int {
	i := strings.LastIndexByte(text, '\n')
	if i < 0 {
		return -1
	}
	lines := strings.Split(text[:i], "\n")
	for j := len(lines) - 1; j >= 0; j-- {
		if n, err := strconv.Atoi(strings.TrimSpace(lines[j])); err == nil {
			return n
		}
	}
	return -1
}
