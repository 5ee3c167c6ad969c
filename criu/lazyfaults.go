package criu

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

// LazyFaults reads a `criu lazy-pages` log (written at -v4) for the pages the
// restored processes faulted on before the background fill reached them: per
// process (its pid in the images, as pagemap-PID.img names it), the page
// addresses, sorted and without repeats. These are the pages a service
// touched first after its restore.
func LazyFaults(logPath string) (map[int][]uint64, error) {
	f, err := os.Open(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	seen := map[int]map[uint64]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		pid, addr, ok := parseFault(sc.Text())
		if !ok {
			continue
		}
		if seen[pid] == nil {
			seen[pid] = map[uint64]bool{}
		}
		seen[pid][addr] = true
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", logPath, err)
	}
	out := make(map[int][]uint64, len(seen))
	for pid, addrs := range seen {
		list := make([]uint64, 0, len(addrs))
		for a := range addrs {
			list = append(list, a)
		}
		sort.Slice(list, func(i, j int) bool { return list[i] < list[j] })
		out[pid] = list
	}
	return out, nil
}

// parseFault reads uffd.c's "PID-UFFD: #PF at 0xADDR" (after the timestamp).
func parseFault(line string) (pid int, addr uint64, ok bool) {
	before, after, found := strings.Cut(line, ": #PF at 0x")
	if !found {
		return 0, 0, false
	}
	who := before[strings.LastIndexAny(before, " )")+1:]
	p, _, _ := strings.Cut(who, "-")
	pid, err := strconv.Atoi(p)
	if err != nil || pid <= 0 {
		return 0, 0, false
	}
	addr, err = strconv.ParseUint(strings.TrimSpace(after), 16, 64)
	if err != nil {
		return 0, 0, false
	}
	return pid, addr, true
}
