package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

var migrateModes = []string{"lazy", "stop-and-copy"}

// migrateRows are the section's rows: mycr's modes, then bare CRIU's lazy move.
var migrateRows = append(append([]string(nil), migrateModes...), criuLazyMode)

// migrateReport is the part of `mycr migrate --format json` the bench uses.
type migrateReport struct {
	Mode           string  `json:"mode"`
	FallbackReason string  `json:"fallback_reason"`
	FrozenMs       float64 `json:"frozen_ms"`
	TotalMs        float64 `json:"total_ms"`
	BytesMoved     int64   `json:"bytes_moved"`
	ImageBytes     int64   `json:"image_bytes"`
	PageBytes      int64   `json:"page_bytes"`
	TargetPid      int     `json:"target_pid"`
	Channel        string  `json:"channel"` // across hosts: tls or ssh
}

// migration: `mycr migrate` of a memhog container from mycr's state root to a
// second one on the same machine (the "target host"; images on disk), post-copy
// (lazy) vs stop-and-copy, the modes alternating.
func (b *Bench) migration() error {
	for _, size := range b.MigSizes {
		bundle, err := b.memBundle(size, 0)
		if err != nil {
			return err
		}
		t := time.Now()
		for i := 0; i < b.MigRuns; i++ {
			for _, mode := range rotate(migrateRows, i) {
				once := b.migrateOnce
				if mode == criuLazyMode {
					once = func(size int, _, bundle string, i int) error { return b.criuLazyOnce(size, bundle, i) }
				}
				if err := once(size, mode, bundle, i); err != nil {
					logf("migrate %d MiB %s: %v", size, mode, err)
					b.res.get("migrate", "frozen", mode, size, "").fail(err)
				}
			}
		}
		logf("migrate %d MiB: %d rounds in %.0f s", size, b.MigRuns, time.Since(t).Seconds())
	}
	return nil
}

func (b *Bench) migrateOnce(size int, mode, bundle string, i int) error {
	tag := fmt.Sprintf("mig%d%s%d", size, mode[:1], i)
	id, tid := b.mycr.id(tag), b.target.id(tag)
	pid, err := b.startMemhog(b.mycr, bundle, id)
	if err != nil {
		return err
	}
	imgs := filepath.Join(b.diskDir, "mig-"+tag)
	defer os.RemoveAll(imgs)
	b.warmMemory(size + 64)
	pidFile := filepath.Join(b.Work, "pids", tid)
	res, err := Cmd{Args: b.mycr.cmd("migrate", "--to-root", b.target.Root, "--target-id", tid, "--mode", mode, "--no-fallback",
		"--format", "json", "--image-path", filepath.Join(imgs, "src"), "--target-image-path", filepath.Join(imgs, "dst"),
		"--pid-file", pidFile, id), Env: b.mycr.Env, Capture: true, Timeout: 10 * time.Minute}.Run()
	if err != nil {
		b.mycr.remove(id, pid)
		_, _ = b.target.delete(tid, true)
		return err
	}
	_ = waitOrphan(pid, time.Minute)
	pid2, _ := readPid(pidFile)
	defer b.target.remove(tid, pid2)
	var rep migrateReport
	if err := json.Unmarshal([]byte(lastLines(res.Output, 1)), &rep); err != nil {
		return fmt.Errorf("no JSON report from migrate (%v): %s", err, lastLines(res.Output, 3))
	}
	if rep.Mode != mode {
		return fmt.Errorf("asked for %s, got %s (%s)", mode, rep.Mode, rep.FallbackReason)
	}
	if !memhogAlive(pid2, size) {
		return fmt.Errorf("migrated memhog (pid %d) is not running with %d MiB", pid2, size)
	}
	b.res.get("migrate", "frozen", mode, size, "").add(rep.FrozenMs)
	tot := b.res.get("migrate", "total", mode, size, "")
	tot.add(rep.TotalMs)
	tot.addBytes(rep.BytesMoved)
	b.res.get("migrate", "command", mode, size, "").add(res.Ms())
	return nil
}

// cellWithFailures is cell(s) and, if runs failed, how many and the first error.
func cellWithFailures(s *Series) string {
	c := cell(s)
	if s != nil && len(s.Errors) > 0 {
		c += fmt.Sprintf(" (%d failed: %s)", len(s.Errors), shortErr(s.Errors[0]))
	}
	return c
}

// migrateTable and migratePlot render section 5.
func (m *mdWriter) migrate() {
	m.p("## 5. Migration")
	m.p("")
	m.p("`mycr migrate --mode lazy|stop-and-copy --no-fallback` of a container running memhog (N MiB touched) from one")
	m.p("mycr state root to another on the same machine (the \"target host\"; source and target images in directories")
	m.p("on disk, memory pages over loopback). *Frozen* is the downtime mycr reports (`frozen_ms`: from the source's")
	m.p("freezer turning FREEZING to the target's processes running again), *total* its `total_ms` (until the last")
	m.p("page has moved and the source is gone), *command* the wall time of the whole `mycr migrate`. The migrated")
	m.p("process is checked to run with all its memory on the target.")
	m.p("*%s* is the same post-copy move done with CRIU alone on a container runc started: `criu dump --lazy-pages`", criuLazyMode)
	m.p("(page server on loopback, network namespace left empty as mycr leaves a namespace holding only lo, fs.pipe-max-size")
	m.p("raised to 4 MiB as mycr does), images hard-linked into a second directory, `criu lazy-pages` there, `criu restore")
	m.p("--lazy-pages -d`; frozen is from CRIU's \"Dumping processes\" (dump.log) to the restore's return, total to the end of both")
	m.p("CRIU processes. It is the floor for any runtime that moves a container with CRIU's lazy pages.")
	m.p("")
	m.p("| MiB | mode | frozen | total | command | moved |")
	m.p("|---|---|---|---|---|---|")
	for _, size := range m.b.MigSizes {
		for _, mode := range migrateRows {
			f := func(op string) *Series { return m.res.find("migrate", op, mode, size, "") }
			m.p("| %d | %s | %s | %s | %s | %s |", size, mode, cellWithFailures(f("frozen")), cell(f("total")), cell(f("command")), fmtBytes(f("total").medBytes()))
		}
	}
	m.p("")
	lines := []plotLine{
		{"migrate", "frozen", "lazy", "", "lazy (post-copy): frozen", "#1f77b4", 1},
		{"migrate", "frozen", "stop-and-copy", "", "stop-and-copy: frozen", "#ff7f0e", 1},
		{"migrate", "frozen", criuLazyMode, "", "bare criu lazy: frozen", "#2ca02c", 1},
		{"migrate", "total", "lazy", "", "lazy (post-copy): total", "#1f77b4", 2},
		{"migrate", "total", "stop-and-copy", "", "stop-and-copy: total", "#ff7f0e", 2},
	}
	if img := m.sizePlot("migration.png", "mycr migrate: downtime (frozen) and total time vs touched memory (median, min-max)", m.b.MigSizes, lines, 900, 520); img != "" {
		m.p("%s", img)
		m.p("")
	}
}

// migrateFindings: how frozen time grows with memory in each mode.
func (m *mdWriter) migrateFindings(add func(string, ...any)) {
	sz := m.b.MigSizes
	if len(sz) < 2 {
		return
	}
	lo, hi := sz[0], sz[len(sz)-1]
	var parts []string
	flat := true
	for _, mode := range migrateModes {
		a, z := m.res.find("migrate", "frozen", mode, lo, ""), m.res.find("migrate", "frozen", mode, hi, "")
		if a.ok() && z.ok() {
			parts = append(parts, fmt.Sprintf("%s %s → %s ms (%.1f×)", mode, fmtMs(a.med()), fmtMs(z.med()), z.med()/a.med()))
			if mode == "lazy" && z.med()/a.med() > 1.5 {
				flat = false
			}
		}
	}
	if len(parts) == 0 {
		return
	}
	verdict := "post-copy's downtime stays flat (the container is frozen only for its non-memory state; its memory follows after the switch) while stop-and-copy's grows with the memory"
	if !flat {
		verdict = fmt.Sprintf("post-copy's downtime grows far less than stop-and-copy's, but it does grow with the memory (%.0f× the memory), so some work that scales with memory still happens while the container is frozen", float64(hi)/float64(lo))
	}
	add("**Migration downtime from %d MiB to %d MiB:** %s: %s.", lo, hi, strings.Join(parts, "; "), verdict)
	m.criuLazyFinding(add)
}

// criuLazyFinding: mycr's lazy frozen time next to bare CRIU's, size by size.
func (m *mdWriter) criuLazyFinding(add func(string, ...any)) {
	var parts []string
	for _, size := range m.b.MigSizes {
		my, bare := m.res.find("migrate", "frozen", "lazy", size, ""), m.res.find("migrate", "frozen", criuLazyMode, size, "")
		if my.ok() && bare.ok() {
			parts = append(parts, fmt.Sprintf("%d MiB %s vs %s ms (%+.0f ms)", size, fmtMs(my.med()), fmtMs(bare.med()), my.med()-bare.med()))
		}
	}
	if len(parts) == 0 {
		return
	}
	add("**Lazy downtime, mycr vs bare CRIU doing the same move by hand** (`criu dump --lazy-pages`, `criu lazy-pages`, `criu restore --lazy-pages`, images hard-linked, network namespace left empty as mycr does): %s. "+
		"CRIU's own dump and restore make up nearly all of the frozen window, and they are what grows with the memory (the lazy dump pins every page in page pipes while the container is frozen).", strings.Join(parts, "; "))
}
