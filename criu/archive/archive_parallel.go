package archive

import (
	"bytes"
	"io"
	goruntime "runtime"
	"sync"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// parallelChunk is the input each worker compresses on its own: large enough
// that starting a new zstd frame or gzip member costs nothing measurable in
// size (zstd's default window is 8 MiB, deflate's 32 KiB).
const parallelChunk = 4 << 20

// chunkCompressor compresses its input in independent chunks on every core and
// writes them in order. The result is a run of complete zstd frames or gzip
// members, which zstd and gzip readers (Go's, klauspost's, the zstd and gzip
// tools) read as one stream. A streaming encoder keeps one core busy at most.
type chunkCompressor struct {
	w      io.Writer
	encode func(src []byte) ([]byte, error)
	buf    []byte
	order  chan chan chunkResult // chunks in input order, bounded: bounds memory
	done   chan struct{}
	mu     sync.Mutex
	err    error // the first error; later writes fail with it
}

type chunkResult struct {
	data []byte
	err  error
}

// chunkBufs holds *[]byte: a slice put into a sync.Pool directly is boxed,
// one allocation per Put.
var chunkBufs = sync.Pool{New: func() any { b := make([]byte, 0, parallelChunk); return &b }}

func newChunkCompressor(w io.Writer, encode func([]byte) ([]byte, error)) *chunkCompressor {
	c := &chunkCompressor{w: w, encode: encode, order: make(chan chan chunkResult, goruntime.GOMAXPROCS(0)+1),
		done: make(chan struct{}), buf: *chunkBufs.Get().(*[]byte)}
	go c.writeInOrder()
	return c
}

func (c *chunkCompressor) writeInOrder() {
	defer close(c.done)
	for res := range c.order {
		r := <-res
		err := r.err
		if err == nil && c.failed() == nil {
			_, err = c.w.Write(r.data)
		}
		if err != nil {
			c.fail(err)
		}
	}
}

func (c *chunkCompressor) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
}

func (c *chunkCompressor) failed() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *chunkCompressor) Write(p []byte) (int, error) {
	if err := c.failed(); err != nil {
		return 0, err
	}
	n := len(p)
	for len(p) > 0 {
		k := copy(c.buf[len(c.buf):cap(c.buf)], p)
		c.buf, p = c.buf[:len(c.buf)+k], p[k:]
		if len(c.buf) == cap(c.buf) {
			c.flush()
		}
	}
	return n, nil
}

// flush hands the buffered chunk to a worker.
func (c *chunkCompressor) flush() {
	if len(c.buf) == 0 {
		return
	}
	src, res := c.buf, make(chan chunkResult, 1)
	c.buf = *chunkBufs.Get().(*[]byte)
	c.order <- res // blocks while enough chunks are in flight
	go func() {
		data, err := c.encode(src)
		src = src[:0]
		chunkBufs.Put(&src)
		res <- chunkResult{data, err}
	}()
}

func (c *chunkCompressor) Close() error {
	c.flush()
	close(c.order)
	<-c.done
	return c.failed()
}

// parallelZstd compresses with zstd at level (a klauspost speed) on every core.
func parallelZstd(w io.Writer, level zstd.EncoderLevel) (io.WriteCloser, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(goruntime.GOMAXPROCS(0)))
	if err != nil {
		return nil, err
	}
	return newChunkCompressor(w, func(src []byte) ([]byte, error) {
		return enc.EncodeAll(src, make([]byte, 0, len(src)/2)), nil
	}), nil
}

// parallelGzip compresses with gzip (klauspost's deflate) at level on every core.
func parallelGzip(w io.Writer, level int) (io.WriteCloser, error) {
	if _, err := kgzip.NewWriterLevel(io.Discard, level); err != nil {
		return nil, err
	}
	writers := sync.Pool{New: func() any { g, _ := kgzip.NewWriterLevel(io.Discard, level); return g }}
	return newChunkCompressor(w, func(src []byte) ([]byte, error) {
		var out bytes.Buffer
		out.Grow(len(src) / 2)
		g := writers.Get().(*kgzip.Writer)
		defer writers.Put(g)
		g.Reset(&out)
		if _, err := g.Write(src); err != nil {
			return nil, err
		}
		if err := g.Close(); err != nil {
			return nil, err
		}
		return out.Bytes(), nil
	}), nil
}
