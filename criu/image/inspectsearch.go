package image

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/checkpoint-restore/go-criu/v7/crit/images/mm"
)

// MemoryMatch is one place Search found the pattern.
type MemoryMatch struct {
	PID     uint32 `json:"pid"`
	Comm    string `json:"comm"`
	Address string `json:"address"`
	Mapping string `json:"mapping,omitempty"` // what the address is in: [heap], [stack], a file, "" for anonymous
	Context string `json:"context"`           // the match with context bytes around it, non-printables as '.'
}

// SearchResult is what Search found; Truncated when it stopped at maxMatches.
type SearchResult struct {
	Pattern   string        `json:"pattern"`
	Matches   []MemoryMatch `json:"matches"`
	Truncated bool          `json:"truncated,omitempty"`
}

const (
	maxMatches    = 1000
	maxPattern    = 4096
	searchChunk   = 1 << 20
	maxContextLen = 64 << 10
)

// Search finds pattern (plain bytes) in the dumped memory of every task, with
// context bytes either side of each match.
func Search(dir, pattern string, context int) (res *SearchResult, err error) {
	switch {
	case pattern == "":
		return nil, errors.New("empty search pattern")
	case len(pattern) > maxPattern:
		return nil, fmt.Errorf("search pattern longer than %d bytes", maxPattern)
	case context < 0 || context > maxContextLen:
		return nil, fmt.Errorf("context must be 0..%d bytes", maxContextLen)
	}
	im := newImages(dir)
	defer func() {
		if recoverCorrupt(im, recover(), &err); err != nil {
			res = nil
		}
	}()
	if err := checkCheckpointDir(im); err != nil {
		return nil, err
	}
	procs, err := processes(im, false, false)
	if err != nil {
		return nil, fmt.Errorf("images in %s: cannot read the process tree: %w", dir, err)
	}
	res = &SearchResult{Pattern: pattern, Matches: []MemoryMatch{}}
	for _, p := range procs {
		if !p.hasMemory() || res.Truncated {
			continue
		}
		if err := searchTask(im, p, []byte(pattern), context, res); err != nil {
			return nil, fmt.Errorf("images in %s: memory of pid %d: %w", dir, p.PID, err)
		}
	}
	return res, nil
}

// searchTask scans the task's pages chunk by chunk; the last len(pattern)-1
// bytes of a chunk are kept for the next one when the addresses are contiguous,
// so a match across chunks or pagemap entries is found once.
func searchTask(im *images, p Process, pat []byte, context int, res *SearchResult) error {
	m, err := decodeOne(im, fmt.Sprintf("mm-%d.img", p.PID), &mm.MmEntry{})
	if err != nil {
		return err
	}
	idx, _ := fileTable(im)
	mem, err := openTaskMemory(im, p.PID)
	if err != nil {
		return err
	}
	defer mem.close()
	var carry []byte
	var next uint64 // the address right after carry
	for _, r := range mem.runs {
		if r.vaddr != next {
			carry = nil
		}
		for pos := uint64(0); pos < r.size; pos += searchChunk {
			n := min(searchChunk, r.size-pos)
			buf := make([]byte, len(carry)+int(n))
			copy(buf, carry)
			if _, err := mem.pages.ReadAt(buf[len(carry):], int64(r.off+pos)); err != nil {
				return fmt.Errorf("%s: %w", mem.name, err)
			}
			base := r.vaddr + pos - uint64(len(carry))
			for i := 0; ; {
				j := bytes.Index(buf[i:], pat)
				if j < 0 {
					break
				}
				addr := base + uint64(i+j)
				if len(res.Matches) == maxMatches {
					res.Truncated = true
					return nil
				}
				ctx, err := mem.read(addr-min(addr, uint64(context)), uint64(len(pat)+2*context))
				if err != nil {
					return err
				}
				res.Matches = append(res.Matches, MemoryMatch{PID: p.PID, Comm: p.Comm, Address: fmt.Sprintf("0x%x", addr),
					Mapping: mappingAt(m, addr, idx), Context: printable(ctx)})
				i += j + len(pat)
			}
			carry = append([]byte(nil), buf[max(0, len(buf)-len(pat)+1):]...)
			next = r.vaddr + pos + n
		}
	}
	return nil
}

// mappingAt names the mapping that holds addr.
func mappingAt(m *mm.MmEntry, addr uint64, idx fileIndex) string {
	for _, v := range m.GetVmas() {
		if v.GetStart() <= addr && addr < v.GetEnd() {
			return vmaWhat(v, idx)
		}
	}
	return "?"
}

func printable(b []byte) string {
	return string(bytes.Map(func(r rune) rune {
		if r < 32 || r > 126 {
			return '.'
		}
		return r
	}, b))
}
