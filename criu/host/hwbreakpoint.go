package host

// Results of the hardware-breakpoint probe, as stored in Env.HWBreakpoints.
const (
	HWWorks   = "works"
	HWBroken  = "broken"
	HWUnknown = "unknown"
)

// FaultNoBreakpoints is CRIU's fault-injection code that makes compel stop the
// parasite with PTRACE_SYSCALL instead of a hardware breakpoint. That path is
// slower but works everywhere, so it is also used when the answer is unknown.
const FaultNoBreakpoints = "130"

// faultFor is the CRIU_FAULT value mycr exports for a probe result.
func faultFor(hw string) string {
	if hw == HWWorks {
		return ""
	}
	return FaultNoBreakpoints
}

// ProbeHWBreakpoints really tests whether a hardware execution breakpoint
// traps here (CRIU's dump hangs forever when it does not). It returns HWWorks,
// HWBroken, or HWUnknown with an error when the probe itself could not run.
// Non-amd64 always answers HWUnknown.
func ProbeHWBreakpoints() (string, error) {
	return probeHWBreakpoints()
}
