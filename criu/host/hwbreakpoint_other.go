//go:build !amd64

package host

// Only the amd64 debug-register layout is implemented.
func probeHWBreakpoints() (string, error) { return HWUnknown, nil }
