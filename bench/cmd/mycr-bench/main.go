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
// per compression).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

type Bench struct {
	Out        string
	Work       string
	Runs       int
	LifeRuns   int
	MemRuns    int
	BigRuns    int
	MemSizes   []int
	JVMRuns    int
	MemRuncMax int
	MigSizes   []int
	MigRuns    int
	ArcSizes   []int
	ArcFill    int
	Fault      string

	res     *Results
	mycr    *rt
	runc    *rt
	crun    *rt
	target  *rt // mycr's second state root: the migration target
	criu    *bareCriu
	peers   []*rt // lifecycle runtimes
	tr      *tracer
	baseEnv []string
	repo    string
	// shared rootfs and bundles
	rootfs               string
	bSleep, bTrue, bBusy string
	bCRIUConf            string
	memRootfs, jvmRootfs string
	jvmJava              string
	jvmMounts            []any
	tmpfsDir, diskDir    string
	tmpfsMounted         bool
}

func main() {
	b := &Bench{}
	var sections, memSizes, migSizes, arcSizes, mycrBin, runcBin, crunBin, criuBin string
	flag.StringVar(&b.Out, "out", "docs", "directory that receives benchmarks.md and bench/ (json, png)")
	flag.StringVar(&sections, "sections", "lifecycle,cr,mem,jvm,migrate,archive", "sections to run")
	flag.IntVar(&b.Runs, "runs", 10, "runs per runtime for the checkpoint/restore cases")
	flag.IntVar(&b.LifeRuns, "lifecycle-runs", 40, "runs per runtime for the lifecycle cases (~30 ms each, and noisy)")
	flag.IntVar(&b.MemRuns, "mem-runs", 7, "runs per runtime for the memory cases up to 1 GiB")
	flag.IntVar(&b.BigRuns, "big-runs", 5, "runs per runtime for the memory cases above 1 GiB")
	flag.StringVar(&memSizes, "mem-sizes", "64,256,1024,4096", "touched memory sizes in MiB")
	flag.StringVar(&migSizes, "migrate-sizes", "256,1024,4096", "touched memory sizes (MiB) of the migrated containers")
	flag.IntVar(&b.MigRuns, "migrate-runs", 5, "migrations per mode and size")
	flag.StringVar(&arcSizes, "archive-sizes", "64,256", "touched memory sizes (MiB) of the exported containers")
	flag.IntVar(&b.ArcFill, "archive-fill", 50, "percent of each page the archived workload fills with random bytes (the rest: zeros)")
	flag.IntVar(&b.MemRuncMax, "mem-runc-max", 1024, "largest memory size (MiB) runc is measured at (mycr and criu: all)")
	flag.IntVar(&b.JVMRuns, "jvm-runs", 5, "cold starts and restores of the JVM service per runtime")
	flag.StringVar(&mycrBin, "mycr", "bin/mycr", "mycr binary")
	flag.StringVar(&runcBin, "runc", "/usr/local/lib/mycr-bench/runc", "runc binary (falls back to runc in PATH)")
	flag.StringVar(&crunBin, "crun", "crun", "crun binary (skipped if missing)")
	flag.StringVar(&criuBin, "criu", "/usr/local/sbin/criu", "criu binary used by all runtimes")
	flag.StringVar(&b.Fault, "criu-fault", "130", `CRIU_FAULT for every CRIU run ("130": no hardware breakpoints, "none": unset)`)
	from := flag.String("from", "", "write the report from this results.json instead of measuring (same -sections and sizes)")
	flag.Parse()
	b.MemSizes, b.MigSizes, b.ArcSizes = sizes(memSizes), sizes(migSizes), sizes(arcSizes)
	run := func() error { return b.main(sections, mycrBin, runcBin, crunBin, criuBin) }
	if *from != "" {
		run = func() error { return b.rerender(*from, sections) }
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
func (b *Bench) rerender(path, sections string) error {
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
		{"archive", b.archive},
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
		b.res.Sections[s.name] = time.Since(t).Seconds()
		logf("== %s done in %.0f s", s.name, time.Since(t).Seconds())
	}
	b.res.Seconds = time.Since(start).Seconds()
	return b.report(want)
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
}

func (b *Bench) setup(mycrBin, runcBin, crunBin, criuBin string) error {
	var err error
	if b.repo, err = os.Getwd(); err != nil {
		return err
	}
	if b.Work, err = os.MkdirTemp("/var/tmp", "mycr-bench-"); err != nil {
		return err
	}
	logf("work dir %s", b.Work)
	abs := func(p string) string {
		if strings.Contains(p, "/") {
			a, _ := filepath.Abs(p)
			return a
		}
		if lp, err := exec.LookPath(p); err == nil {
			return lp
		}
		return ""
	}
	mycrBin, criuBin = abs(mycrBin), abs(criuBin)
	if _, err := os.Stat(mycrBin); err != nil {
		return fmt.Errorf("mycr binary: %w (make build)", err)
	}
	if _, err := os.Stat(criuBin); err != nil {
		return fmt.Errorf("criu binary: %w (make deps)", err)
	}
	if _, err := os.Stat(runcBin); err != nil {
		runcBin = abs("runc")
		if runcBin == "" {
			return fmt.Errorf("no runc (scripts/install-bench-deps.sh builds v1.4.2)")
		}
	}
	// The same PATH for everyone, with the chosen criu first; no CRIU/MYCR variables
	// from the caller's environment.
	path := filepath.Dir(criuBin) + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CRIU_") || strings.HasPrefix(kv, "MYCR_") || strings.HasPrefix(kv, "PATH=") {
			continue
		}
		b.baseEnv = append(b.baseEnv, kv)
	}
	b.baseEnv = append(b.baseEnv, "PATH="+path)
	os.Setenv("PATH", path)
	peerEnv := append([]string(nil), b.baseEnv...)
	mycrEnv := append([]string(nil), b.baseEnv...)
	switch b.Fault {
	case "none", "":
		// mycr would probe; tell it what the peers get
		mycrEnv = append(mycrEnv, "MYCR_HW_BREAKPOINTS=works")
		b.res.Settings["criu_env"] = "no CRIU_FAULT for anyone (hardware breakpoints used)"
	default:
		peerEnv = append(peerEnv, "CRIU_FAULT="+b.Fault)
		// mycr sets CRIU_FAULT=130 itself when it finds breakpoints broken; this makes it
		// do so whatever its probe says, so every CRIU runs in the same mode.
		mycrEnv = append(mycrEnv, "MYCR_HW_BREAKPOINTS=broken")
		b.res.Settings["criu_env"] = "CRIU_FAULT=" + b.Fault + " for runc, crun and bare criu; MYCR_HW_BREAKPOINTS=broken for mycr (which then sets CRIU_FAULT=130 itself)"
	}
	logsDir := filepath.Join(b.Work, "logs")
	os.MkdirAll(logsDir, 0o755)
	os.MkdirAll(filepath.Join(b.Work, "pids"), 0o755)
	b.mycr = &rt{Name: "mycr", Bin: mycrBin, Root: filepath.Join(b.Work, "root-mycr"), Env: mycrEnv, Prefix: "m", CanCR: true, Log: filepath.Join(logsDir, "mycr.log")}
	b.runc = &rt{Name: "runc", Bin: runcBin, Root: filepath.Join(b.Work, "root-runc"), Env: peerEnv, Prefix: "r", CanCR: true, Log: filepath.Join(logsDir, "runc.log")}
	b.target = &rt{Name: "mycr", Bin: mycrBin, Root: filepath.Join(b.Work, "root-mycr-target"), Env: mycrEnv, Prefix: "t", Log: filepath.Join(logsDir, "mycr-target.log")}
	b.peers = []*rt{b.mycr, b.runc}
	if cb := abs(crunBin); cb != "" {
		b.crun = &rt{Name: "crun", Bin: cb, Root: filepath.Join(b.Work, "root-crun"), Env: peerEnv, Prefix: "c", Log: filepath.Join(logsDir, "crun.log")}
		b.peers = append(b.peers, b.crun)
		out, _ := sh(cb, "--version")
		b.res.Versions["crun"] = strings.Join(strings.Fields(strings.ReplaceAll(out, "\n", " · ")), " ")
		help, _ := Cmd{Args: []string{cb, "checkpoint", "--help"}, Capture: true}.Run()
		if strings.Contains(out, "+CRIU") && !strings.Contains(help.Output, "unknown command") {
			b.crun.CanCR = true
		} else {
			b.res.Skipped["crun checkpoint/restore"] = fmt.Sprintf("this crun is built without CRIU support (its feature line %q has no +CRIU; `crun checkpoint` says %q)",
				lastFeatureLine(out), firstLine(help.Output))
		}
		if err := b.probeCrun(); err != nil {
			b.res.Skipped["crun"] = err.Error()
			b.peers = b.peers[:2]
			b.crun = nil
		}
	} else {
		b.res.Skipped["crun"] = "crun not installed"
	}
	runcRoot2 := &rt{Name: "runc", Bin: runcBin, Root: filepath.Join(b.Work, "root-bare"), Env: peerEnv, Prefix: "b", Log: filepath.Join(logsDir, "bare.log")}
	b.criu = &bareCriu{Bin: criuBin, Env: peerEnv, Runc: runcRoot2, Work: b.Work}

	b.res.Settings["runs"] = fmt.Sprint(b.Runs)
	b.res.Settings["lifecycle_runs"] = fmt.Sprint(b.LifeRuns)
	b.res.Settings["mem_runs"] = fmt.Sprintf("%d (sizes ≤ 1 GiB), %d (larger)", b.MemRuns, b.BigRuns)
	b.res.Settings["jvm_runs"] = fmt.Sprint(b.JVMRuns)
	b.res.Settings["mem_runc_max"] = fmt.Sprint(b.MemRuncMax)
	b.res.Settings["migrate_runs"] = fmt.Sprint(b.MigRuns)

	if b.tr, err = startTracer(); err != nil {
		logf("process events connector unavailable (%v): no breakdown", err)
		b.tr = nil
	}
	maxMiB := 0
	for _, n := range append(append(append([]int(nil), b.MemSizes...), b.MigSizes...), b.ArcSizes...) {
		maxMiB = max(maxMiB, n)
	}
	if err := b.mountTmpfs(maxMiB); err != nil {
		return err
	}
	if err := b.makeBundles(); err != nil {
		return err
	}
	b.versions(criuBin)
	b.machine()
	b.criuState()
	return nil
}

// criuState runs `mycr check` once before anything is measured: like mycr's
// first checkpoint or restore on a host, it gives CRIU a tmpfs for its cache of
// kernel probes (/run/criu), which every runtime then uses alike.
func (b *Bench) criuState() {
	res, _ := b.mycr.exec(true, "check")
	for _, l := range strings.Split(res.Output, "\n") {
		if f := strings.Fields(l); len(f) > 1 && strings.Contains(l, "kernel probe cache:") {
			b.res.Machine["kdat"] = f[0] + ": " + strings.TrimSpace(l[strings.Index(l, "cache:")+len("cache:"):])
		}
	}
}

func lastFeatureLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "+") {
			return strings.TrimSpace(l)
		}
	}
	return firstLine(s)
}

func (b *Bench) versions(criuBin string) {
	v := func(args ...string) string {
		out, _ := sh(args...)
		return firstLine(out)
	}
	b.res.Versions["mycr"] = v(b.mycr.Bin, "--version")
	if c, err := exec.Command("git", "-C", b.repo, "rev-parse", "--short", "HEAD").Output(); err == nil {
		b.res.Versions["mycr"] += " (git " + strings.TrimSpace(string(c)) + ")"
	}
	rv, _ := sh(b.runc.Bin, "--version")
	b.res.Versions["runc"] = strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(rv), "\n", " · ")), " ")
	b.res.Versions["runc_path"] = b.runc.Bin
	cv, _ := sh(criuBin, "--version")
	b.res.Versions["criu"] = strings.TrimSpace(strings.TrimPrefix(firstLine(cv), "Version:")) + " (" + criuBin + ")"
	b.res.Versions["go"] = runtime.Version()
	if jv, err := exec.Command(b.jvmJava, "-version").CombinedOutput(); b.jvmJava != "" && err == nil {
		b.res.Versions["java"] = firstLine(string(jv))
	}
	b.res.Versions["gnuplot"] = v("gnuplot", "--version")
	b.res.Versions["busybox"] = v("/bin/busybox")
}

func (b *Bench) machine() {
	var u unix.Utsname
	_ = unix.Uname(&u)
	b.res.Machine["kernel"] = unix.ByteSliceToString(u.Release[:])
	b.res.Machine["cpus"] = fmt.Sprint(runtime.NumCPU())
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, "model name") {
				b.res.Machine["cpu"] = strings.TrimSpace(l[strings.Index(l, ":")+1:])
				break
			}
		}
	}
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		b.res.Machine["memory"] = fmt.Sprintf("%.1f GiB", float64(si.Totalram)*float64(si.Unit)/(1<<30))
	}
	if data, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, "PRETTY_NAME=") {
				b.res.Machine["os"] = strings.Trim(l[len("PRETTY_NAME="):], `"`)
			}
		}
	}
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/cgroup/unified", &st) == nil {
		b.res.Machine["cgroups"] = "v1 (hybrid)"
	} else if unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		b.res.Machine["cgroups"] = "v2"
	} else {
		b.res.Machine["cgroups"] = "v1"
	}
	if unix.Statfs("/run", &st) == nil {
		if st.Type == unix.TMPFS_MAGIC {
			b.res.Machine["run_tmpfs"] = "yes"
		} else {
			b.res.Machine["run_tmpfs"] = "no"
		}
	}
	if out, err := exec.Command("findmnt", "-n", "-o", "SOURCE,FSTYPE", "--target", "/var/tmp").Output(); err == nil {
		b.res.Machine["disk"] = strings.TrimSpace(string(out))
	}
	if c, err := os.ReadFile("/proc/1/comm"); err == nil {
		b.res.Machine["pid1"] = strings.TrimSpace(string(c))
	}
}

func (b *Bench) cleanup() {
	for _, r := range []*rt{b.mycr, b.runc, b.crun, b.target} {
		if r == nil {
			continue
		}
		out, _ := Cmd{Args: r.cmd("list", "-q"), Env: r.Env, Capture: true, Timeout: 30 * time.Second}.Run()
		for _, id := range strings.Fields(out.Output) {
			_, _ = r.exec(true, "delete", "-f", id)
		}
	}
	if b.criu != nil {
		r := b.criu.Runc
		out, _ := Cmd{Args: r.cmd("list", "-q"), Env: r.Env, Capture: true, Timeout: 30 * time.Second}.Run()
		for _, id := range strings.Fields(out.Output) {
			_, _ = r.exec(true, "delete", "-f", id)
		}
	}
	if b.tmpfsMounted {
		_ = unix.Unmount(b.tmpfsDir, unix.MNT_DETACH)
	}
	if b.Work != "" && os.Getenv("MYCR_BENCH_KEEP") == "" {
		os.RemoveAll(b.Work)
	}
}

// probeCrun runs one container with crun: Debian 12's crun 1.8 refuses hybrid
// cgroup hosts outright.
func (b *Bench) probeCrun() error {
	dir := filepath.Join(b.Work, "crun-probe")
	rootfs, err := makeRootfs(dir)
	if err != nil {
		return err
	}
	if _, err := bundleAt(b.runc.Bin, dir, rootfs, setArgs("true")); err != nil {
		return err
	}
	if _, err := b.crun.runTrue(dir, "probe"); err != nil {
		_, _ = b.crun.delete("probe", true)
		msg := strings.TrimSpace(tailFile(b.crun.Log, 300))
		return fmt.Errorf("%s cannot run a container on this host (%q): skipped", b.res.Versions["crun"][:strings.Index(b.res.Versions["crun"]+" ·", " ·")], lastLines(msg, 1))
	}
	return nil
}
