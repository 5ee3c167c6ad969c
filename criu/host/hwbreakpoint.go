package host

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
