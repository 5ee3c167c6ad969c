// Command mycr-bench measures mycr against runc, crun and bare CRIU side by side,
// in one run on one machine, interleaving the runtimes' runs (round i starts with
// a different runtime than round i-1), and writes docs/benchmarks.md with tables,
// PNG plots (gnuplot) and the raw samples as JSON (docs/bench/results.json).
//
// Run it as root through `make bench` (which builds mycr, runc v1.4.2 and the
// bench's own workloads), or directly:
//
//	go run ./bench/cmd/mycr-bench -out docs -runs 3 -sections lifecycle,cr
//
// Sections: lifecycle, cr (idle and busy containers, with a breakdown of where
// the time goes), mem (64 MiB..4 GiB touched memory, tmpfs and disk images, vs
// bare criu and dd), jvm (a slow-starting JVM service: cold start vs restore),
// migrate (post-copy vs stop-and-copy, 256 MiB..4 GiB), archive (export/import
// per compression), lazy (restore --lazy vs eager: running, first answer, last
// page; 256 MiB and 1 GiB, tmpfs and disk images).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

func main() {
	b := &Bench{}
	var sections, memSizes, migSizes, linkSizes, arcSizes, lazySizes, lazyJVMSizes, mycrBin, runcBin, crunBin, criuBin string
	flag.StringVar(&b.Out, "out", "docs", "directory that receives benchmarks.md and bench/ (json, png)")
	flag.StringVar(&sections, "sections", "lifecycle,cr,mem,jvm,migrate,link,archive,lazy", "sections to run")
	flag.IntVar(&b.Runs, "runs", 10, "runs per runtime for the checkpoint/restore cases")
	flag.IntVar(&b.LifeRuns, "lifecycle-runs", 40, "runs per runtime for the lifecycle cases (~30 ms each, and noisy)")
	flag.IntVar(&b.MemRuns, "mem-runs", 7, "runs per runtime for the memory cases up to 1 GiB")
	flag.IntVar(&b.BigRuns, "big-runs", 5, "runs per runtime for the memory cases above 1 GiB")
	flag.StringVar(&memSizes, "mem-sizes", "64,256,1024,4096", "touched memory sizes in MiB")
	flag.StringVar(&migSizes, "migrate-sizes", "256,1024,4096", "touched memory sizes (MiB) of the migrated containers")
	flag.IntVar(&b.MigRuns, "migrate-runs", 5, "migrations per mode and size")
	flag.StringVar(&linkSizes, "link-sizes", "256,1024,4096", "touched memory sizes (MiB) of the containers migrated between two hosts")
	flag.IntVar(&b.LinkRuns, "link-runs", 3, "migrations between two hosts per mode and size")
	flag.StringVar(&b.LinkRate, "link-rate", "1gbit", "rate of the two hosts' link (tc syntax: 1gbit, 100mbit)")
	flag.StringVar(&arcSizes, "archive-sizes", "64,256", "touched memory sizes (MiB) of the exported containers")
	flag.IntVar(&b.ArcFill, "archive-fill", 50, "percent of each page the archived workload fills with random bytes (the rest: zeros)")
	flag.StringVar(&lazySizes, "lazy-sizes", "256,1024", "touched memory sizes (MiB) of the lazily restored containers")
	flag.StringVar(&lazyJVMSizes, "lazy-jvm-sizes", "1024,4096", "warm-cache sizes (MiB) of the lazily restored JVM service (empty: none)")
	flag.IntVar(&b.LazyRuns, "lazy-runs", 3, "rounds (eager mycr, eager runc, lazy mycr) per size and filesystem")
	flag.IntVar(&b.MemRuncMax, "mem-runc-max", 1024, "largest memory size (MiB) runc is measured at (mycr and criu: all)")
	flag.IntVar(&b.JVMRuns, "jvm-runs", 5, "cold starts and restores of the JVM service per runtime")
	flag.StringVar(&mycrBin, "mycr", "bin/mycr", "mycr binary")
	flag.StringVar(&runcBin, "runc", "/usr/local/lib/mycr-bench/runc", "runc binary (falls back to runc in PATH)")
	flag.StringVar(&crunBin, "crun", "crun", "crun binary (skipped if missing)")
	flag.StringVar(&criuBin, "criu", "/usr/local/sbin/criu", "criu binary used by all runtimes")
	flag.StringVar(&b.Fault, "criu-fault", "130", `CRIU_FAULT for every CRIU run ("130": no hardware breakpoints, "none": unset)`)
	from := flag.String("from", "", "write the report from this results.json instead of measuring (same -sections and sizes)")
	merge := flag.String("merge", "", "with -from: results.json files of sections rerun later, comma-separated; their sections replace the same ones")
	flag.Parse()
	b.MemSizes, b.MigSizes, b.LinkSizes, b.ArcSizes = sizes(memSizes), sizes(migSizes), sizes(linkSizes), sizes(arcSizes)
	b.LazySizes, b.LazyJVMSizes = sizes(lazySizes), sizes(lazyJVMSizes)
	run := func() error { return b.main(sections, mycrBin, runcBin, crunBin, criuBin) }
	if *from != "" {
		run = func() error { return b.rerender(*from, *merge, sections) }
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mycr-bench:", err)
		os.Exit(1)
	}
}

// sizes parses a comma-separated list of MiB.
func sizes(list string) []int {
	var out []int
	for _, s := range strings.Split(list, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(s), &n); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

// rerender rewrites benchmarks.md and the plots from a saved results.json.
func (b *Bench) rerender(path, merge, sections string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := startReaper(); err != nil { // gnuplot runs through Cmd
		return err
	}
	b.res = newResults()
	if err := json.Unmarshal(data, b.res); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, p := range strings.Split(merge, ",") {
		if p == "" {
			continue
		}
		if err := b.res.merge(p); err != nil {
			return err
		}
	}
	return b.report(wanted(sections))
}

func wanted(sections string) map[string]bool {
	want := map[string]bool{}
	for _, s := range strings.Split(sections, ",") {
		want[strings.TrimSpace(s)] = true
	}
	return want
}

func (b *Bench) main(sections, mycrBin, runcBin, crunBin, criuBin string) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("run as root")
	}
	start := time.Now()
	b.res = newResults()
	b.res.Started = start.UTC().Format(time.RFC3339)
	if err := startReaper(); err != nil {
		return err
	}
	if err := b.setup(mycrBin, runcBin, crunBin, criuBin); err != nil {
		b.cleanup()
		return err
	}
	defer b.cleanup()
	want := wanted(sections)
	steps := []struct {
		name string
		fn   func() error
	}{
		{"lifecycle", b.lifecycle},
		{"cr", b.checkpointRestore},
		{"mem", b.memory},
		{"jvm", b.jvm},
		{"migrate", b.migration},
		{"link", b.migrateLink},
		{"archive", b.archive},
		{"lazy", b.lazy},
		{"lazy", b.lazyJVM},
	}
	for _, s := range steps {
		if !want[s.name] {
			continue
		}
		t := time.Now()
		logf("== %s", s.name)
		if err := s.fn(); err != nil {
			logf("section %s failed: %v", s.name, err)
			b.res.Facts["error_"+s.name] = err.Error()
		}
		b.res.Sections[s.name] += time.Since(t).Seconds() // lazy has two steps
		logf("== %s done in %.0f s", s.name, time.Since(t).Seconds())
	}
	b.res.Seconds = time.Since(start).Seconds()
	return b.report(want)
}
