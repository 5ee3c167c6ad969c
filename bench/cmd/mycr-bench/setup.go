package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

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
	defaultEnv = b.baseEnv // commands run without their own Env (dd, gcc, gnuplot) see this PATH too
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
	b.res.Settings["link_runs"] = fmt.Sprint(b.LinkRuns)
	b.res.Settings["link_rate"] = b.LinkRate
	b.res.Settings["lazy_runs"] = fmt.Sprint(b.LazyRuns)

	if b.tr, err = startTracer(); err != nil {
		logf("process events connector unavailable (%v): no breakdown", err)
		b.tr = nil
	}
	maxMiB := 0
	for _, n := range append(append(append([]int(nil), b.MemSizes...), b.MigSizes...), append(b.ArcSizes, b.LazySizes...)...) {
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
