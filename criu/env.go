package criu

import (
	"fmt"
	"os"

	"github.com/sirupsen/logrus"
)

// Env is how CRIU runs on this machine, as decided by Prepare.
type Env struct {
	Binary        string // absolute path of the criu binary that will be run
	Version       int    // e.g. 40201
	HWBreakpoints string // HWWorks, HWBroken or HWUnknown
	Fault         string // CRIU_FAULT value in effect ("" = none)
	Source        string // how HWBreakpoints/Fault was decided: one of the Source* values
	Detail        string // why the answer is HWUnknown, if it is
	NetworkLock   string // how CRIU locks the network: NetLockNftables, NetLockIptables or the user's config file
	CgroupYard    string // the host's dir of cgroup hierarchies CRIU reads at dump ("" = CRIU mounts its own)
	userConfig    bool   // CRIU_CONFIG_FILE was set by the user: mycr writes none
}

// Values of Env.Source.
const (
	SourceProbe    = "probe"
	SourceCache    = "cache"
	SourceEnvFault = "env CRIU_FAULT"
	SourceEnvHW    = "env MYCR_HW_BREAKPOINTS"
	SourceStall    = "stall" // set by DisableHWBreakpoints
)

// EnvHWBreakpoints forces the probe answer ("works" or "broken").
const EnvHWBreakpoints = "MYCR_HW_BREAKPOINTS"

// Prepare decides how CRIU must run here and exports it into this process's
// environment, because libcontainer runs exec.Command("criu", "swrk", "3")
// with our PATH and environment: CRIU_FAULT is set (or left as the user set
// it) and PATH is changed so that "criu" resolves to the chosen binary.
// See FindBinary for criuPath; the probe result is cached in stateDir.
func Prepare(stateDir, criuPath string) (*Env, error) {
	bin, err := FindBinary(criuPath)
	if err != nil {
		return nil, err
	}
	dropEmptyFault()
	// A daemon's CRIU_FAULT (containerd's, for one) reaches every mycr: the
	// cache is per value and written only once CRIU has run with it.
	ver, err := cachedBinaryVersion(stateDir, bin)
	if v, set := os.LookupEnv("CRIU_FAULT"); err != nil && set {
		return nil, fmt.Errorf("criu at %s does not run with CRIU_FAULT=%q (%v): unset it or use %s", bin, v, err, FaultNoBreakpoints)
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
	if err := exposeInPath(stateDir, bin); err != nil {
		return nil, fmt.Errorf("make %s the criu in PATH: %w", bin, err)
	}
	if e.Source != SourceEnvFault && e.Fault != "" {
		if err := os.Setenv("CRIU_FAULT", e.Fault); err != nil {
			return nil, err
		}
	}
	EnsureKdatDir()               // before the first criu run of this boot
	e.chooseNetworkLock(stateDir) // after the fault: the probe runs criu
	e.UseConfig(stateDir, RunConfig{})
	return e, nil
}

// dropEmptyFault unsets an empty CRIU_FAULT: CRIU refuses to start with it
// ("CRIU_FAULT out of bounds"), and an empty value is no one's real choice.
func dropEmptyFault() {
	if v, set := os.LookupEnv("CRIU_FAULT"); set && v == "" {
		os.Unsetenv("CRIU_FAULT")
	}
}

// decideFault fills HWBreakpoints, Fault and Source without touching the
// environment. Precedence: CRIU_FAULT set by the user, MYCR_HW_BREAKPOINTS,
// the cache for this kernel+boot, a fresh probe.
func (e *Env) decideFault(stateDir string) error {
	if v := os.Getenv("CRIU_FAULT"); v != "" {
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

// DisableHWBreakpoints switches this process (and, through the cache, the
// rest of this boot) to CRIU's no-breakpoint mode. Call it when a dump stalled
// waiting for a breakpoint trap (StalledAtBreakpoint): the probe said the
// breakpoints work, CRIU showed otherwise. A CRIU_FAULT set by the user wins.
func (e *Env) DisableHWBreakpoints(stateDir string) error {
	if e.Source == SourceEnvFault {
		return nil
	}
	e.HWBreakpoints, e.Fault, e.Source = HWBroken, FaultNoBreakpoints, SourceStall
	if err := os.Setenv("CRIU_FAULT", e.Fault); err != nil {
		return err
	}
	return writeCache(stateDir, HWBroken, SourceStall)
}
