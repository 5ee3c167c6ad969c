package archive

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
)

// copyChunk is the unit an archive member is read, hashed and written in:
// large enough that syscalls and channel hops do not count.
const copyChunk = 1 << 20

// copyHashed copies src to dst and returns the bytes and their SHA-256. The
// hash runs on its own goroutine over the same chunks while they are written
// (and compressed), so it overlaps that work instead of adding to it.
func copyHashed(dst io.Writer, src io.Reader) (int64, string, error) {
	const buffers = 4
	free := make(chan []byte, buffers)
	for range buffers {
		free <- make([]byte, copyChunk)
	}
	todo := make(chan []byte, buffers)
	h := sha256.New()
	hashed := make(chan struct{})
	go func() {
		defer close(hashed)
		for b := range todo {
			h.Write(b)
			free <- b[:cap(b)]
		}
	}()
	var n int64
	var err error
	for {
		// A buffer is back in free once hashed, and the write of it returned
		// before this loop takes the next one: no chunk is overwritten in use.
		buf := <-free
		k, rerr := io.ReadFull(src, buf)
		if k > 0 {
			todo <- buf[:k]
			if _, werr := dst.Write(buf[:k]); werr != nil {
				err = werr
				break
			}
			n += int64(k)
		} else {
			free <- buf
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			err = rerr
			break
		}
	}
	close(todo)
	<-hashed
	return n, hex.EncodeToString(h.Sum(nil)), err
}
