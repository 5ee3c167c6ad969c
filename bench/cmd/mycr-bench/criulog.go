package main

import (
	"bufio"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// criuLogPhases reads a CRIU log (the last run in it) and returns a few phases in ms.
func criuLogPhases(path, op string) map[string]float64 {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	type ln struct {
		t float64
		s string
	}
	var lines []ln
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	last := -1.0
	for sc.Scan() {
		m := logLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		t, _ := strconv.ParseFloat(m[1], 64)
		if t < last { // a new CRIU run appended to the same log
			lines = lines[:0]
		}
		last = t
		lines = append(lines, ln{t * 1000, m[2]})
	}
	if len(lines) == 0 {
		return nil
	}
	find := func(sub string, from int) int {
		for i := from; i < len(lines); i++ {
			if strings.Contains(lines[i].s, sub) {
				return i
			}
		}
		return -1
	}
	out := map[string]float64{"total": lines[len(lines)-1].t}
	if a := find("Loaded kdat cache", 0); a >= 0 {
		if z := find("cpu:", a); z > a { // the probes the cache does not cover end before CRIU reads the CPU's features
			out["kernel feature probe (kdat cache)"] = lines[z].t - lines[a].t
		}
	} else if a, z := find("kdat", 0), find("files stat: fs/nr_open", 0); a >= 0 && z > a {
		out["kernel feature probe (no kdat cache)"] = lines[z].t - lines[a].t
	}
	if strings.HasPrefix(op, "checkpoint") {
		if a, z := find("Dumping processes (pid", 0), find("Seized task", 0); a >= 0 && z > a {
			out["freeze and seize"] = lines[z].t - lines[a].t
		}
		if a, z := find("freezing cgroup", 0), find("freezer.state=FROZEN", 0); a >= 0 && z > a {
			out["cgroup freezer wait"] = lines[z].t - lines[a].t
		}
		if a, z := find("'s namespaces", 0), find("Namespaces dump complete", 0); a >= 0 && z > a {
			out["namespaces (net, ipc, uts)"] = lines[z].t - lines[a].t
		}
	} else {
		if a := find("Running network-unlock scripts", 0); a >= 0 && a+1 < len(lines) {
			out["network unlock"] = lines[a+1].t - lines[a].t
		}
		if a, z := find("Running setup-namespaces scripts", 0), find("Running post-setup-namespaces scripts", 0); a >= 0 && z > a {
			out["namespaces and mounts"] = lines[z].t - lines[a].t
		}
	}
	return out
}

var logLine = regexp.MustCompile(`^\(\s*([0-9]+\.[0-9]+)\)\s?(.*)$`)
