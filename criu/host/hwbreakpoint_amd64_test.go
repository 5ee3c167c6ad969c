//go:build amd64

package host

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

func TestProbeHWBreakpointsAnswers(t *testing.T) {
	hw, err := ProbeHWBreakpoints()
	if err != nil {
		t.Fatalf("probe failed: %v", err)
	}
	if hw != HWWorks && hw != HWBroken {
		t.Fatalf("probe = %q", hw)
	}
	// Whether this agrees with what CRIU really does is TestProbeAgreesWithCRIUDump.
	t.Logf("hardware breakpoints here: %s", hw)
}

// armSoftware plants an int3 at the entry point: a trap that fires on any
// x86 machine. It proves the harness sees traps, so a "broken" answer is
// about the debug registers, not about the harness.
func armSoftware(pid int, auxv map[uint64]uint64) (uint64, error) {
	entry := uintptr(auxv[atEntry])
	var w [8]byte
	if _, err := unix.PtracePeekText(pid, entry, w[:]); err != nil {
		return 0, err
	}
	binary.LittleEndian.PutUint64(w[:], binary.LittleEndian.Uint64(w[:])&^0xff|0xcc)
	if _, err := unix.PtracePokeText(pid, entry, w[:]); err != nil {
		return 0, err
	}
	return uint64(entry) + 1, nil // RIP is past the int3 when it traps
}

func TestProbeHarnessSeesSoftwareTrap(t *testing.T) {
	res, want, err := runTraced(armSoftware)
	if err != nil {
		t.Fatal(err)
	}
	if !res.trapped || res.pc != want {
		t.Fatalf("int3 at entry: %+v, want trap at %#x", res, want)
	}
	// Not a hardware breakpoint: the verdict must not say "works".
	if v := hwVerdict(res, want); v != HWBroken {
		t.Fatalf("software trap judged %q", v)
	}
}

func TestProbeWrongSetupIsNotWorks(t *testing.T) {
	cases := map[string]armFunc{
		"DR0 set, DR7 disabled":       armHardware(0, atEntry),
		"breakpoint on data address":  armHardware(dr7Exec0, atRandom),
		"DR7 enables slot 1, not DR0": armHardware(1<<2, atEntry),
	}
	for name, arm := range cases {
		res, want, err := runTraced(arm)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if v := hwVerdict(res, want); v == HWWorks || !res.exited {
			t.Errorf("%s: verdict %q, result %+v; want the child to run to its end", name, v, res)
		}
	}
}
