package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

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
