package main

import (
	"sort"
	"strings"
)

// crPhases splits a traced checkpoint or restore into: runtime work before the
// first CRIU, each CRIU run, runtime work between and after; counts CRIU launches
// and the programs CRIU ran (ip, iptables-restore, ...); and adds CRIU's own view
// from its log (kernel feature probe, freezing, network namespace, network unlock).
func (b *Bench) crPhases(op, who string, res Result, evs []procEvent, logPath string) {
	p := b.res.phaseSet(op, who)
	ms := func(a, z int64) float64 { return float64(z-a) / 1e6 }
	if evs != nil {
		parent := map[int]int{}
		var rootExit int64
		for _, e := range evs {
			if e.Kind == "fork" {
				parent[e.Pid] = e.Parent
			}
			if e.Kind == "exit" && e.Pid == res.Pid {
				rootExit = e.Mono
			}
		}
		runs := runsOf(evs)
		var criuRuns, tools []run
		criuPids := map[int]bool{}
		for _, r := range runs {
			if strings.HasPrefix(r.name(), "criu") {
				criuRuns = append(criuRuns, r)
				criuPids[r.Pid] = true
			}
		}
		for _, r := range runs {
			if criuPids[r.Pid] {
				continue
			}
			for a := parent[r.Pid]; a != 0; a = parent[a] {
				if criuPids[a] {
					tools = append(tools, r)
					break
				}
			}
		}
		if len(criuRuns) > 0 && rootExit > 0 && criuRuns[len(criuRuns)-1].Exit > 0 {
			p.Runs++
			p.add("runtime before CRIU", ms(res.MonoStart, criuRuns[0].Exec))
			var gaps, criuT float64
			for k, c := range criuRuns {
				if k > 0 {
					gaps += ms(criuRuns[k-1].Exit, c.Exec)
				}
				if k == len(criuRuns)-1 {
					p.add("CRIU "+strings.Fields(op)[0], ms(c.Exec, c.Exit))
				} else {
					criuT += ms(c.Exec, c.Exit)
				}
			}
			p.add("CRIU version call(s)", criuT)
			p.add("runtime between CRIU runs", gaps)
			p.add("runtime after CRIU", ms(criuRuns[len(criuRuns)-1].Exit, rootExit))
			p.add("total", ms(res.MonoStart, rootExit))
			groups := map[string][][2]int64{}
			var all [][2]int64
			for _, t := range tools {
				g := toolGroup(t.name())
				p.Tools[g]++
				if t.Exit > t.Exec {
					groups[g] = append(groups[g], [2]int64{t.Exec, t.Exit})
					all = append(all, [2]int64{t.Exec, t.Exit})
				}
			}
			p.add("programs run by CRIU (part of CRIU "+strings.Fields(op)[0]+")", unionMs(all))
			for _, g := range toolGroups {
				p.add("  "+g, unionMs(groups[g]))
			}
			p.count("criu launches", len(criuRuns))
			p.count("programs run by CRIU", len(tools))
		}
	}
	for name, v := range criuLogPhases(logPath, op) {
		p.add("log: "+name, v)
	}
}

// Programs CRIU runs, grouped by purpose.
var toolGroups = []string{"iptables/ip6tables (network lock, netns rules)", "ip (netns addresses, routes)", "tar+gzip (tmpfs contents)", "other"}

func toolGroup(name string) string {
	n := strings.Trim(name, "[]")
	switch {
	case strings.HasPrefix(n, "iptables") || strings.HasPrefix(n, "ip6tables") || strings.HasPrefix(n, "nft"):
		return toolGroups[0]
	case n == "ip":
		return toolGroups[1]
	case n == "tar" || n == "gzip":
		return toolGroups[2]
	case n == "sh":
		return "sh (wrapper)"
	}
	return toolGroups[3]
}

// unionMs is the total length of the union of the intervals, in ms.
func unionMs(iv [][2]int64) float64 {
	if len(iv) == 0 {
		return 0
	}
	sort.Slice(iv, func(i, j int) bool { return iv[i][0] < iv[j][0] })
	var total int64
	cur := iv[0]
	for _, x := range iv[1:] {
		if x[0] <= cur[1] {
			cur[1] = max(cur[1], x[1])
			continue
		}
		total += cur[1] - cur[0]
		cur = x
	}
	total += cur[1] - cur[0]
	return float64(total) / 1e6
}
