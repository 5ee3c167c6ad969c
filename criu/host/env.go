package host

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
	"github.com/sirupsen/logrus"
)

// Env is how CRIU runs on this machine, as decided by Probe.
type Env struct {
	Binary        string // absolute path of the criu binary that will be run
	Version       int    // e.g. 40201
	HWBreakpoints string // HWWorks, HWBroken or HWUnknown
	Fault         string // CRIU_FAULT value in effect ("" = none)
	Source        string // how HWBreakpoints/Fault was decided: one of the Source* values
	Detail        string // why the answer is HWUnknown, if it is
	NetworkLock   string // how CRIU locks the network: NetLockNftables, NetLockIptables or the user's config file
	CgroupYard    string // the host's dir of cgroup hierarchies CRIU reads at dump ("" = CRIU mounts its own)
	BinDir        string // the dir that must come first in PATH for exec("criu") to find Binary
	UserConfig    bool   // CRIU_CONFIG_FILE was set by the user: mycr writes none
}

// Values of Env.Source.
const (
	SourceProbe    = "probe"
	SourceCache    = "cache"
	SourceEnvFault = "env CRIU_FAULT"
	SourceEnvHW    = "env MYCR_HW_BREAKPOINTS"
	SourceStall    = "stall" // set by MarkHWBroken
)

// EnvHWBreakpoints forces the probe answer ("works" or "broken").
const EnvHWBreakpoints = "MYCR_HW_BREAKPOINTS"

// Probe decides how CRIU must run here: which binary, which CRIU_FAULT, which
// network lock and cgroup yard. It changes no environment variable (package
// criu exports the answer, see criu.Prepare); it may write its caches in
// stateDir and mount CRIU's kdat dir. See FindBinary for criuPath.
func Probe(stateDir, criuPath string) (*Env, error) {
	bin, err := FindBinary(criuPath)
	if err != nil {
		return nil, err
	}
	// A daemon's CRIU_FAULT (containerd's, for one) reaches every mycr: the
	// cache is per value and written only once CRIU has run with it.
	ver, err := cachedBinaryVersion(stateDir, bin)
	if v := os.Getenv(EnvFault); err != nil && v != "" {
		return nil, fmt.Errorf("criu at %s does not run with %s=%q (%v): unset it or use %s", bin, EnvFault, v, err, FaultNoBreakpoints)
	}
	if err != nil {
		return nil, fmt.Errorf("criu at %s does not run (%v); %s", bin, err, installHint)
	}
	if ver < MinVersion {
		return nil, fmt.Errorf("criu at %s is version %s, too old; %s", bin, FormatVersion(ver), installHint)
	}
	e := &Env{Binary: bin, Version: ver}
	if err := e.decideFault(stateDir); err != nil {
		return nil, err
	}
	if e.BinDir, err = binDir(stateDir, bin); err != nil {
		return nil, fmt.Errorf("make %s the criu in PATH: %w", bin, err)
	}
	EnsureKdatDir()               // before the first criu run of this boot
	e.chooseNetworkLock(stateDir) // after the fault: the probe runs criu
	return e, nil
}

// decideFault fills HWBreakpoints, Fault and Source without touching the
// environment. Precedence: CRIU_FAULT set by the user, MYCR_HW_BREAKPOINTS,
// the cache for this kernel+boot, a fresh probe.
func (e *Env) decideFault(stateDir string) error {
	if v := os.Getenv(EnvFault); v != "" {
		e.HWBreakpoints, e.Fault, e.Source = HWUnknown, v, SourceEnvFault
		if c, ok := readCache(stateDir); ok { // informative only
			e.HWBreakpoints = c.HWBreakpoints
		}
		return nil
	}
	if v := os.Getenv(EnvHWBreakpoints); v != "" {
		if v != HWWorks && v != HWBroken {
			return fmt.Errorf("%s=%q: want %q or %q", EnvHWBreakpoints, v, HWWorks, HWBroken)
		}
		e.HWBreakpoints, e.Fault, e.Source = v, faultFor(v), SourceEnvHW
		return nil
	}
	if c, ok := readCache(stateDir); ok {
		e.HWBreakpoints, e.Fault, e.Source = c.HWBreakpoints, faultFor(c.HWBreakpoints), SourceCache
		return nil
	}
	hw, err := ProbeHWBreakpoints()
	e.HWBreakpoints, e.Fault, e.Source = hw, faultFor(hw), SourceProbe
	if err != nil {
		// The no-breakpoint path is safe everywhere: use it, don't cache.
		e.Detail = "probe failed: " + err.Error()
		logrus.Warnf("hardware breakpoint probe failed, using CRIU_FAULT=%s: %v", e.Fault, err)
		return nil
	}
	if hw != HWUnknown {
		if err := writeCache(stateDir, hw, SourceProbe); err != nil {
			logrus.Warnf("cannot cache the CRIU environment in %s: %v", stateDir, err)
		}
	}
	return nil
}

// MarkHWBroken records, for the rest of this boot (the cache), that the
// hardware breakpoints do not work after all: a dump stalled waiting for a
// breakpoint trap (criu.StalledAtBreakpoint) although the probe said they
// work. A CRIU_FAULT set by the user wins: it reports false and changes nothing.
func (e *Env) MarkHWBroken(stateDir string) (bool, error) {
	if e.Source == SourceEnvFault {
		return false, nil
	}
	e.HWBreakpoints, e.Fault, e.Source = HWBroken, FaultNoBreakpoints, SourceStall
	return true, writeCache(stateDir, HWBroken, SourceStall)
}

// chooseNetworkLock decides how CRIU locks the container's network: with
// nftables rather than iptables when it can. Both drop every packet of the
// container's network namespace while CRIU works; the iptables lock costs 2
// process starts of iptables-restore at dump and 5-7 at restore (lock,
// unlock, checks), ~40 ms of an idle container's restore, where nftables runs
// inside CRIU. A CRIU_CONFIG_FILE set by the user is left alone, and
// /etc/criu/runc.conf (libcontainer passes it over RPC) still overrides the
// file mycr writes (criu.Env.UseConfig).
func (e *Env) chooseNetworkLock(stateDir string) {
	e.NetworkLock = NetLockIptables
	if v, set := os.LookupEnv(EnvConfigFile); set {
		e.NetworkLock, e.UserConfig = "as in "+v, true
		return
	}
	if nftablesLockWorks(stateDir, e.Binary, e.Fault) {
		e.NetworkLock = NetLockNftables
	}
	e.CgroupYard = hostCgroupYard()
	if strings.ContainsAny(e.CgroupYard, " \t\n\"'") {
		e.CgroupYard = "" // not worth quoting for CRIU's config parser
	}
}

// YardFits tells whether a restore of images dumped with these cgroup
// hierarchies (image.CgroupHierarchies: each one's controller names) may use
// the host's cgroup yard: CRIU mounts a hierarchy the yard lacks into it, which
// in the host's yard would outlive the restore. Images from this host always
// fit; others fit when this host mounts all their hierarchies the same way.
// Unknown hierarchies (nil) do not fit.
func (e *Env) YardFits(hierarchies [][]string) bool {
	if e == nil || e.CgroupYard == "" || hierarchies == nil {
		return false
	}
	for _, cnames := range hierarchies {
		if cnames == nil {
			return false
		}
		dir := filepath.Join(e.CgroupYard, yardDir(cnames))
		if ok, err := mountinfo.Mounted(dir); err != nil || !ok {
			return false
		}
	}
	return true
}
