package tmpfs

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// PAX records of a file with holes: its data extents ("offset,length,..."),
// and its size with the holes. The entry's data is the extents, concatenated.
// A /dev/shm segment made with ftruncate and barely touched stays small.
const (
	paxSparseMap  = "MYCR.sparse.map"
	paxSparseSize = "MYCR.sparse.size"
)

type extent struct{ off, len int64 }

// writeSparse writes f's entry: its data extents only, when it has holes.
func writeSparse(tw *tar.Writer, hdr *tar.Header, f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	extents, err := dataExtents(f, size)
	if err != nil {
		return err
	}
	hdr.Size = size
	if len(extents) != 1 || extents[0] != (extent{0, size}) {
		hdr.Size = 0
		var m []string
		for _, e := range extents {
			hdr.Size += e.len
			m = append(m, strconv.FormatInt(e.off, 10), strconv.FormatInt(e.len, 10))
		}
		hdr.PAXRecords = map[string]string{paxSparseMap: strings.Join(m, ","), paxSparseSize: strconv.FormatInt(size, 10)}
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	for _, e := range extents {
		if _, err := io.Copy(tw, io.NewSectionReader(f, e.off, e.len)); err != nil {
			return fmt.Errorf("%s: %w", hdr.Name, err)
		}
	}
	return nil
}

// dataExtents lists where f holds data (SEEK_DATA/SEEK_HOLE); a file without
// holes is one extent, an empty one none.
func dataExtents(f *os.File, size int64) ([]extent, error) {
	var out []extent
	fd := int(f.Fd())
	for off := int64(0); off < size; {
		data, err := unix.Seek(fd, off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			break // only a hole from off to the end
		}
		if err != nil {
			return nil, err
		}
		hole, err := unix.Seek(fd, data, unix.SEEK_HOLE)
		if err != nil {
			return nil, err
		}
		hole = min(hole, size) // a file growing while read: keep its size
		if hole > data {
			out = append(out, extent{data, hole - data})
		}
		off = hole
	}
	return out, nil
}

// sparseLayout is where an entry's data goes: one extent from 0 and its
// size, or the extents and size its sparse records give.
func sparseLayout(hdr *tar.Header) ([]extent, int64, error) {
	m, ok := hdr.PAXRecords[paxSparseMap]
	if !ok {
		return []extent{{0, hdr.Size}}, hdr.Size, nil
	}
	return parseSparse(m, hdr.PAXRecords[paxSparseSize], hdr.Size)
}

// writeExtents fills f from r at extents and gives it its size (holes at the end).
func writeExtents(f *os.File, r io.Reader, extents []extent, size int64) error {
	for _, e := range extents {
		if _, err := io.Copy(io.NewOffsetWriter(f, e.off), io.LimitReader(r, e.len)); err != nil {
			return err
		}
	}
	return f.Truncate(size)
}

// parseSparse checks a sparse map: extents in order, inside the size, adding
// up to the entry's data.
func parseSparse(m, sizeRec string, data int64) ([]extent, int64, error) {
	size, err := strconv.ParseInt(sizeRec, 10, 64)
	if err != nil || size < 0 {
		return nil, 0, fmt.Errorf("bad %s %q", paxSparseSize, sizeRec)
	}
	var fields []string
	if m != "" {
		fields = strings.Split(m, ",")
	}
	if len(fields)%2 != 0 {
		return nil, 0, fmt.Errorf("bad %s: odd number of fields", paxSparseMap)
	}
	var out []extent
	end, total := int64(0), int64(0)
	for i := 0; i < len(fields); i += 2 {
		off, err1 := strconv.ParseInt(fields[i], 10, 64)
		n, err2 := strconv.ParseInt(fields[i+1], 10, 64)
		if err1 != nil || err2 != nil || off < end || n < 0 || off+n > size || off+n < off {
			return nil, 0, fmt.Errorf("bad %s at field %d", paxSparseMap, i)
		}
		out = append(out, extent{off, n})
		end, total = off+n, total+n
	}
	if total != data {
		return nil, 0, fmt.Errorf("%s holds %d bytes, the entry %d", paxSparseMap, total, data)
	}
	return out, size, nil
}
