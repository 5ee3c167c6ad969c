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
