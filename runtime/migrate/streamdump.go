package migrate

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// dumpStreaming is dumpAll for a move to another host in stop-and-copy mode,
// with the send overlapping the dump: the first pages image CRIU writes (all
// the memory of a one-process container) goes to the target as it grows, so
// the link is busy while CRIU still dumps. CRIU only appends to an image
// file; the file is declared complete (its size in frameFileEnd) once the
// dump has succeeded. It returns the streamed file's name ("" if none), the
// dump's error (as dumpAll's: the source then still runs or the error says
// why not) and, separately, the stream's error (the source is then in its
// images, as after a failed send).
func (x *remoteRun) dumpStreaming() (name string, dumpErr, sendErr error) {
	ended := make(chan bool, 1) // the dump's outcome: succeeded or not
	res := goStreamGrowingPages(x.link.w, x.m.srcDir, ended)
	dumpErr = x.m.dumpAll(x.abortTarget)
	ended <- dumpErr == nil
	r := <-res
	x.m.rep.ImageBytes += r.n
	x.m.rep.StreamedBytes = r.n
	if dumpErr != nil {
		return "", dumpErr, nil
	}
	if r.err != nil {
		return "", nil, fmt.Errorf("sending the images: %w", r.err)
	}
	return r.name, nil, nil
}

// streamed is what streamGrowingPages did: the file, its bytes, the error.
type streamed struct {
	name string
	n    int64
	err  error
}

// goStreamGrowingPages runs streamGrowingPages on its own goroutine.
func goStreamGrowingPages(w *wire, dir string, ended <-chan bool) <-chan streamed {
	res := make(chan streamed, 1)
	go func() {
		name, n, err := streamGrowingPages(w, dir, ended)
		res <- streamed{name, n, err}
	}()
	return res
}

// streamGrowingPages waits for the first pages-*.img in dir and sends it as
// it grows, until ended says how the dump went: on success the rest and the
// final size follow; on failure it stops (the target is aborted anyway).
func streamGrowingPages(w *wire, dir string, ended <-chan bool) (string, int64, error) {
	var path string
	for path == "" {
		select {
		case <-ended: // no pages image while dumping: it goes with the rest
			return "", 0, nil
		case <-time.After(10 * time.Millisecond):
		}
		path = firstPagesImage(dir)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	name := filepath.Base(path)
	if err := w.SendJSON(frameFile, wireFile{Name: name, Size: growingSize}); err != nil {
		return "", 0, linkLost(err)
	}
	buf := make([]byte, 1<<20)
	var n int64
	done := false
	for {
		k, rerr := f.Read(buf)
		if k > 0 {
			if err := w.Send(frameData, buf[:k]); err != nil {
				return "", n, linkLost(err)
			}
			n += int64(k)
			continue
		}
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return "", n, rerr
		}
		if done { // at the end of a complete file
			return name, n, linkLost0(w.SendJSON(frameFileEnd, wireFile{Name: name, Size: n}))
		}
		select {
		case ok := <-ended:
			if !ok {
				return "", n, nil
			}
			done = true // read on to the end once more
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// firstPagesImage is the pages image CRIU started first in dir ("" if none yet).
func firstPagesImage(dir string) string {
	m, _ := filepath.Glob(filepath.Join(dir, "pages-*.img"))
	sort.Slice(m, func(i, j int) bool { return pagesID(m[i]) < pagesID(m[j]) })
	if len(m) == 0 {
		return ""
	}
	return m[0]
}

func pagesID(path string) int {
	var id int
	_, _ = fmt.Sscanf(filepath.Base(path), "pages-%d.img", &id)
	return id
}
