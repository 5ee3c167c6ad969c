package image

import (
	"fmt"
	"sort"

	"github.com/checkpoint-restore/go-criu/v7/crit/images/mm"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/vma"
	"golang.org/x/sys/unix"
)

// TaskMemory is a task's address space: its mappings, and how much of it the
// checkpoint holds (CRIU dumps anonymous and dirty pages, not file contents).
type TaskMemory struct {
	PID    uint32    `json:"pid"`
	Comm   string    `json:"comm"`
	Exe    string    `json:"exe,omitempty"`
	Mapped uint64    `json:"mapped_bytes"`
	Dumped uint64    `json:"dumped_bytes"`
	Maps   []Mapping `json:"maps"`
}

// Mapping is one VMA, as a line of /proc/PID/maps.
type Mapping struct {
	Start  string `json:"start"`
	End    string `json:"end"`
	Size   uint64 `json:"size"`
	Perms  string `json:"perms"` // rwxp / rwxs
	Offset uint64 `json:"offset,omitempty"`
	What   string `json:"what,omitempty"` // file path, [heap], [stack], [vdso], [shmem] ...; empty: anonymous
	Dumped uint64 `json:"dumped_bytes"`
}

// VMA status bits (CRIU's criu/include/image.h).
const (
	vmaStack       = 1 << 1
	vmaVsyscall    = 1 << 2
	vmaVdso        = 1 << 3
	vmaHeap        = 1 << 5
	vmaFilePrivate = 1 << 6
	vmaFileShared  = 1 << 7
	vmaAnonShared  = 1 << 8
	vmaSysvIPC     = 1 << 10
	vmaSocket      = 1 << 11
	vmaVvar        = 1 << 12
	vmaAIORing     = 1 << 13
	vmaMemfd       = 1 << 14
)

func memoryMaps(im *images, procs []Process) ([]TaskMemory, error) {
	idx, err := fileTable(im)
	if err != nil {
		return nil, err
	}
	var out []TaskMemory
	for _, p := range procs {
		if !p.hasMemory() {
			continue
		}
		m, err := decodeOne(im, fmt.Sprintf("mm-%d.img", p.PID), &mm.MmEntry{})
		if err != nil {
			return nil, err
		}
		mem, err := openTaskMemory(im, p.PID)
		if err != nil {
			return nil, err
		}
		mem.close()
		tm := TaskMemory{PID: p.PID, Comm: p.Comm, Exe: idx.name(m.GetExeFileId()), Dumped: mem.dumped}
		for _, v := range m.GetVmas() {
			if v.GetEnd() < v.GetStart() {
				return nil, fmt.Errorf("mm-%d.img is corrupt: mapping 0x%x-0x%x ends before it starts", p.PID, v.GetStart(), v.GetEnd())
			}
			mp := Mapping{Start: fmt.Sprintf("0x%x", v.GetStart()), End: fmt.Sprintf("0x%x", v.GetEnd()),
				Size: v.GetEnd() - v.GetStart(), Perms: perms(v), What: vmaWhat(v, idx),
				Dumped: mem.dumpedIn(v.GetStart(), v.GetEnd())}
			if v.GetStatus()&(vmaFilePrivate|vmaFileShared) != 0 {
				mp.Offset = v.GetPgoff()
			}
			tm.Mapped += mp.Size
			tm.Maps = append(tm.Maps, mp)
		}
		out = append(out, tm)
	}
	return out, nil
}

func perms(v *vma.VmaEntry) string {
	b := []byte("---p")
	if v.GetProt()&unix.PROT_READ != 0 {
		b[0] = 'r'
	}
	if v.GetProt()&unix.PROT_WRITE != 0 {
		b[1] = 'w'
	}
	if v.GetProt()&unix.PROT_EXEC != 0 {
		b[2] = 'x'
	}
	if v.GetFlags()&unix.MAP_SHARED != 0 {
		b[3] = 's'
	}
	return string(b)
}

// vmaWhat names what a mapping maps, as the last column of /proc/PID/maps.
func vmaWhat(v *vma.VmaEntry, idx fileIndex) string {
	st := v.GetStatus()
	switch {
	case st&vmaVsyscall != 0:
		return "[vsyscall]"
	case st&vmaVdso != 0:
		return "[vdso]"
	case st&vmaVvar != 0:
		return "[vvar]"
	case st&vmaHeap != 0:
		return "[heap]"
	case st&vmaStack != 0 || v.GetFlags()&unix.MAP_GROWSDOWN != 0:
		return "[stack]"
	case st&(vmaFilePrivate|vmaFileShared|vmaMemfd) != 0:
		return idx.name(uint32(v.GetShmid()))
	case st&vmaAnonShared != 0:
		return fmt.Sprintf("[shmem %d]", v.GetShmid())
	case st&vmaSysvIPC != 0:
		return fmt.Sprintf("[sysv shm %d]", v.GetShmid())
	case st&vmaSocket != 0:
		return "[packet socket]"
	case st&vmaAIORing != 0:
		return "[aio]"
	}
	return ""
}

// dumpedIn is how many bytes of [start, end) the pages image holds.
func (m *taskMemory) dumpedIn(start, end uint64) uint64 {
	var n uint64
	i := sort.Search(len(m.runs), func(i int) bool { return m.runs[i].vaddr+m.runs[i].size > start })
	for ; i < len(m.runs) && m.runs[i].vaddr < end; i++ {
		r := m.runs[i]
		n += min(end, r.vaddr+r.size) - max(start, r.vaddr)
	}
	return n
}
