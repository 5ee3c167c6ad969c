package criu

import (
	"fmt"
	"sort"
	"strconv"
)

// Diff lists what changed between two checkpoints of the same container:
// processes that came or went, files opened or closed, mapped memory per task.
func Diff(a, b *Inspection) []string {
	var out []string
	procs := func(in *Inspection) map[string]bool {
		m := map[string]bool{}
		for _, p := range in.Processes {
			m[fmt.Sprintf("pid %d (%s) %s", p.PID, p.Comm, p.Cmdline)] = true
		}
		return m
	}
	out = append(out, setDiff("process", procs(a), procs(b))...)
	files := func(in *Inspection) map[string]bool {
		m := map[string]bool{}
		for _, fd := range in.Files {
			for _, f := range fd.Files {
				m[fmt.Sprintf("pid %d fd %s %s", fd.PId, f.Fd, f.Path)] = true
			}
		}
		return m
	}
	out = append(out, setDiff("file", files(a), files(b))...)
	sizeA, sizeB := mappedBytes(a), mappedBytes(b)
	var pids []uint32
	for pid := range sizeB {
		pids = append(pids, pid)
	}
	sort.Slice(pids, func(i, j int) bool { return pids[i] < pids[j] })
	for _, pid := range pids {
		if old, ok := sizeA[pid]; ok && old != sizeB[pid] {
			out = append(out, fmt.Sprintf("~ memory of pid %d: %s -> %s mapped", pid, humanBytes(old), humanBytes(sizeB[pid])))
		}
	}
	return out
}

func setDiff(kind string, a, b map[string]bool) []string {
	var out []string
	for k := range a {
		if !b[k] {
			out = append(out, "- "+kind+" "+k)
		}
	}
	for k := range b {
		if !a[k] {
			out = append(out, "+ "+kind+" "+k)
		}
	}
	sort.Strings(out)
	return out
}

// mappedBytes sums each task's mappings (crit gives them as hex strings).
func mappedBytes(in *Inspection) map[uint32]int64 {
	out := map[uint32]int64{}
	for _, mm := range in.Memory {
		for _, m := range mm.Mems {
			start, err1 := strconv.ParseUint(trimHex(m.Start), 16, 64)
			end, err2 := strconv.ParseUint(trimHex(m.End), 16, 64)
			if err1 == nil && err2 == nil && end > start {
				out[mm.PId] += int64(end - start)
			}
		}
	}
	return out
}

func trimHex(s string) string {
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		return s[2:]
	}
	return s
}
