package host

import (
	"fmt"
	"os/exec"
	"strings"

	"github.com/opencontainers/cgroups"
	"golang.org/x/sys/unix"
)

// Fact is one line of `mycr check`. Status is "OK", "WARN" or "FAIL"; Fix
// says what to do about a WARN or FAIL.
type Fact struct{ Name, Status, Value, Fix string }

// Report is what `mycr check` found out about checkpoint/restore here.
type Report struct {
	CriuPath      string
	CriuVersion   int
	Kernel        string
	CgroupMode    string // "v1", "hybrid" or "v2"
	HWBreakpoints string
	Fault         string // CRIU_FAULT mycr runs CRIU with
	Facts         []Fact
}

func (r *Report) add(name, status, value, fix string) {
	r.Facts = append(r.Facts, Fact{name, status, value, fix})
}

// Check inspects this machine without changing the process environment
// (it may write the probe cache in stateDir).
func Check(stateDir, criuPath string) *Report {
	r := &Report{Kernel: kernelRelease(), CgroupMode: cgroupMode()}
	e := &Env{}
	if err := e.decideFault(stateDir); err != nil {
		e.HWBreakpoints, e.Source = HWUnknown, err.Error()
	}
	r.HWBreakpoints, r.Fault = e.HWBreakpoints, e.Fault

	bin, err := FindBinary(criuPath)
	if err == nil {
		r.CriuVersion, err = BinaryVersion(bin)
	}
	switch {
	case err != nil:
		r.add("criu", "FAIL", err.Error(), installHint)
	case r.CriuVersion < MinVersion:
		r.add("criu", "FAIL", bin+" "+FormatVersion(r.CriuVersion)+" is too old", installHint)
	default:
		r.CriuPath = bin
		e.Binary = bin
		EnsureKdatDir()               // as every checkpoint and restore does
		e.chooseNetworkLock(stateDir) // what checkpoints will use
		r.add("criu", "OK", bin+" "+FormatVersion(r.CriuVersion), "")
		if out, err := runCriu(bin, r.Fault, "check"); err == nil {
			r.add("criu check", "OK", firstLine(out), "")
		} else {
			r.add("criu check", "FAIL", firstLine(out), "run `criu check` to see which kernel feature is missing")
		}
	}
	if r.CriuPath != "" {
		st, v, fix := kdatStatus(r.CriuPath)
		r.add("kernel probe cache", st, v, fix)
	}
	r.add("kernel", "OK", r.Kernel, "")
	r.add("cgroups", "OK", r.CgroupMode, "")

	how := e.Source
	if e.Detail != "" {
		how += ": " + e.Detail
	}
	if e.HWBreakpoints == HWWorks {
		r.add("hw breakpoints", "OK", "works (decided by "+how+")", "")
	} else {
		r.add("hw breakpoints", "WARN", fmt.Sprintf("%s (decided by %s); CRIU runs with CRIU_FAULT=%q", e.HWBreakpoints, how, e.Fault),
			"none needed: CRIU uses its slower PTRACE_SYSCALL path; "+EnvHWBreakpoints+"=works|broken overrides")
	}

	// CRIU's default network lock runs iptables-restore; mycr opts into nftables
	// where CRIU supports it (netlock.go).
	ipt, _ := exec.LookPath("iptables-restore")
	nft := r.criuFeature("network_lock_nftables") == "yes"
	switch {
	case e.NetworkLock == NetLockNftables:
		r.add("network lock", "OK", "nftables, inside CRIU (mycr's criu.conf via "+EnvConfigFile+")", "")
	case strings.HasPrefix(e.NetworkLock, "as in "):
		r.add("network lock", "OK", "as configured in your "+EnvConfigFile+" ("+strings.TrimPrefix(e.NetworkLock, "as in ")+")", "")
	case ipt != "":
		r.add("network lock", "OK", fmt.Sprintf("iptables (%s); nftables supported: %v", ipt, nft), "")
	case nft:
		r.add("network lock", "WARN", "no iptables-restore (CRIU's default); nftables supported",
			"install iptables (`make deps`) or add `network-lock nftables` to /etc/criu/runc.conf")
	default:
		r.add("network lock", "FAIL", "neither iptables-restore nor CRIU nftables support",
			"install iptables: run `make deps` (needed for containers with a network namespace)")
	}

	if ok, detail := userfaultfd(); ok {
		r.add("userfaultfd", "OK", detail, "")
	} else {
		r.add("userfaultfd", "WARN", detail, "lazy restore (--lazy-pages) is unavailable; plain restore works")
	}
	if sd := r.criuFeature("mem_dirty_track"); sd == "yes" {
		r.add("soft-dirty", "OK", "memory change tracking available", "")
	} else {
		r.add("soft-dirty", "WARN", sd+": no memory change tracking", "pre-dump and --track-mem are unavailable; plain checkpoints work")
	}
	return r
}

// criuFeature asks `criu check --feature`: "yes", "no" or "unknown".
func (r *Report) criuFeature(name string) string {
	if r.CriuPath == "" {
		return "unknown"
	}
	if _, err := runCriu(r.CriuPath, r.Fault, "check", "--feature", name); err != nil {
		return "no"
	}
	return "yes"
}

// Problems lists what prevents checkpoint/restore, each with what to do;
// empty means C/R can work.
func (r *Report) Problems() []string {
	var out []string
	for _, f := range r.Facts {
		if f.Status == "FAIL" {
			out = append(out, fmt.Sprintf("%s: %s: %s", f.Name, f.Value, f.Fix))
		}
	}
	return out
}

func cgroupMode() string {
	switch {
	case cgroups.IsCgroup2UnifiedMode():
		return "v2"
	case cgroups.IsCgroup2HybridMode():
		return "hybrid"
	}
	return "v1"
}

// userfaultfd tries the syscall itself: lazy restore needs it.
func userfaultfd() (bool, string) {
	fd, _, errno := unix.Syscall(unix.SYS_USERFAULTFD, unix.O_CLOEXEC|unix.O_NONBLOCK, 0, 0)
	if errno != 0 {
		return false, "userfaultfd syscall: " + errno.Error()
	}
	unix.Close(int(fd))
	return true, "userfaultfd syscall works"
}
