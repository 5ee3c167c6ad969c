package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// rotate returns list rotated by i: round i starts with a different runtime.
func rotate[T any](list []T, i int) []T {
	n := len(list)
	out := make([]T, 0, n)
	for k := 0; k < n; k++ {
		out = append(out, list[(i+k)%n])
	}
	return out
}

func (b *Bench) traced(fn func() (Result, error)) (Result, []procEvent, error) {
	if b.tr == nil {
		r, err := fn()
		return r, nil, err
	}
	return b.tr.record(fn)
}

// lifecycle: `run` of busybox true, and create + start + delete of it.
func (b *Bench) lifecycle() error {
	pidDir := filepath.Join(b.Work, "pids")
	os.MkdirAll(pidDir, 0o755)
	for i := -1; i < b.LifeRuns; i++ { // round -1 warms caches and is not recorded
		for _, r := range rotate(b.peers, i+1) {
			id := r.id(fmt.Sprintf("t%d", i+1))
			res, evs, err := b.traced(func() (Result, error) { return r.runTrue(b.bTrue, id) })
			if i >= 0 {
				s := b.res.get("lifecycle", "run true", r.Name, 0, "")
				if err != nil {
					s.fail(err)
				} else {
					s.add(res.Ms())
					b.lifecyclePhases(r, res, evs)
				}
			}
			if err != nil {
				logf("%s run: %v", r.Name, err)
				_, _ = r.delete(id, true)
			}
		}
		for _, r := range rotate(b.peers, i+1) {
			id := r.id(fmt.Sprintf("l%d", i+1))
			pidFile := filepath.Join(pidDir, id)
			c, err := r.create(b.bTrue, id, pidFile)
			var s, d Result
			if err == nil {
				s, err = r.start(id)
			}
			if err == nil {
				if pid, perr := readPid(pidFile); perr == nil {
					err = waitOrphan(pid, 10*time.Second)
				}
			}
			if err == nil {
				d, err = r.delete(id, false)
			}
			if i < 0 {
				if err != nil {
					logf("%s create/start/delete: %v", r.Name, err)
					_, _ = r.delete(id, true)
				}
				continue
			}
			if err != nil {
				b.res.get("lifecycle", "create+start+delete", r.Name, 0, "").fail(err)
				_, _ = r.delete(id, true)
				continue
			}
			b.res.get("lifecycle", "create", r.Name, 0, "").add(c.Ms())
			b.res.get("lifecycle", "start", r.Name, 0, "").add(s.Ms())
			b.res.get("lifecycle", "delete", r.Name, 0, "").add(d.Ms())
			b.res.get("lifecycle", "create+start+delete", r.Name, 0, "").add(c.Ms() + s.Ms() + d.Ms())
		}
	}
	return nil
}

// lifecyclePhases splits a traced `run true`: runtime work until its init is exec'd,
// init work (namespaces, mounts, pivot_root) until the container process is exec'd,
// the container process itself, and the runtime's work after the process exited.
func (b *Bench) lifecyclePhases(r *rt, res Result, evs []procEvent) {
	if evs == nil {
		return
	}
	runs := runsOf(evs)
	debugRuns("run true "+r.Name, res, evs, runs)
	var root, init, proc *run
	for k := range runs {
		x := &runs[k]
		switch {
		case x.Pid == res.Pid && root == nil:
			root = x
		case strings.HasSuffix(x.name(), " init") && init == nil:
			init = x
		case x.Pid != res.Pid && proc == nil && x.name() == "true":
			proc = x
		}
	}
	var rootExit int64
	for _, e := range evs {
		if e.Kind == "exit" && e.Pid == res.Pid {
			rootExit = e.Mono
		}
	}
	if root == nil || proc == nil || rootExit == 0 || proc.Exit == 0 {
		return
	}
	p := b.res.phaseSet("run true", r.Name)
	p.Runs++
	ms := func(a, z int64) float64 { return float64(z-a) / 1e6 }
	initStart := proc.Exec
	if init != nil {
		initStart = init.Exec
	}
	p.add("runtime until init exec", ms(res.MonoStart, initStart))
	p.add("init until container exec", ms(initStart, proc.Exec))
	p.add("container process", ms(proc.Exec, proc.Exit))
	p.add("after container exit", ms(proc.Exit, rootExit))
	p.add("total", ms(res.MonoStart, rootExit))
	n := 0
	for _, x := range runs {
		if x.Pid != res.Pid {
			n++
		}
	}
	p.count("execs besides the runtime", n)
}

func debugRuns(what string, res Result, evs []procEvent, runs []run) {
	if os.Getenv("MYCR_BENCH_DEBUG") == "" {
		return
	}
	logf("trace %s: %d events, root %d", what, len(evs), res.Pid)
	for _, x := range runs {
		logf("  pid %d parent %d +%.2f..+%.2f ms reexec=%v second=%v %s", x.Pid, x.Parent, float64(x.Exec-res.MonoStart)/1e6, float64(x.Exit-res.MonoStart)/1e6, x.Reexec, x.Second, x.Cmd)
	}
}
