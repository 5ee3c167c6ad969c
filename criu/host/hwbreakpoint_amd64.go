//go:build amd64

package host

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const (
	debugRegOffset = 848 // offsetof(struct user, u_debugreg) on amd64
	dr7Exec0       = 1   // what CRIU's compel writes: L0=1, RW0=00 (execute), LEN0=00
	dr6Hit0        = 1   // DR6.B0: DR0 caused the trap
	atEntry        = 9   // auxv: program entry point
	atRandom       = 25  // auxv: address of random bytes on the stack, never executed
	probeTimeout   = 2 * time.Second
)

func debugReg(i int) uintptr { return debugRegOffset + uintptr(i)*8 }

// trapResult is how a traced run of the probe program ended.
type trapResult struct {
	trapped, exited bool
	pc, dr6         uint64 // at the trap
}

// armFunc prepares the child, stopped right after exec, and returns the
// address at which it should trap. auxv is the child's aux vector.
type armFunc func(pid int, auxv map[uint64]uint64) (want uint64, err error)

func probeHWBreakpoints() (string, error) {
	res, want, err := runTraced(armHardware(dr7Exec0, atEntry))
	if err != nil {
		return HWUnknown, err
	}
	return hwVerdict(res, want), nil
}

// hwVerdict: "works" only for a SIGTRAP exactly at the breakpoint that DR6
// attributes to DR0; running to the end or trapping elsewhere is "broken".
func hwVerdict(res trapResult, want uint64) string {
	if res.trapped && res.pc == want && res.dr6&dr6Hit0 != 0 {
		return HWWorks
	}
	return HWBroken
}

// armHardware sets DR0 to auxv[addrKey] and DR7 to dr7, as CRIU does.
func armHardware(dr7, addrKey uint64) armFunc {
	return func(pid int, auxv map[uint64]uint64) (uint64, error) {
		addr := auxv[addrKey]
		if err := pokeUser(pid, debugReg(0), addr); err != nil {
			return 0, fmt.Errorf("set DR0: %w", err)
		}
		if err := pokeUser(pid, debugReg(7), dr7); err != nil {
			return 0, fmt.Errorf("set DR7: %w", err)
		}
		// The kernel validates DR7; read it back to be sure it took.
		if got, err := peekUser(pid, debugReg(7)); err != nil || got != dr7 {
			return 0, fmt.Errorf("DR7 reads back %#x (%v), want %#x", got, err, dr7)
		}
		return addr, nil
	}
}

func pokeUser(pid int, off uintptr, v uint64) error {
	_, err := unix.PtracePokeUser(pid, off, binary.LittleEndian.AppendUint64(nil, v))
	return err
}

func peekUser(pid int, off uintptr) (uint64, error) {
	b := make([]byte, 8)
	_, err := unix.PtracePeekUser(pid, off, b)
	return binary.LittleEndian.Uint64(b), err
}

// runTraced runs the probe program under ptrace. All ptrace calls must come
// from the tracer thread, so this runs on a locked thread that is never
// unlocked: it exits with the goroutine and no tracer state leaks.
func runTraced(arm armFunc) (res trapResult, want uint64, err error) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		res, want, err = traceOnce(arm)
	}()
	<-done
	return res, want, err
}

func traceOnce(arm armFunc) (res trapResult, want uint64, err error) {
	prog := "/bin/true"
	if isExecutable(prog) != nil {
		prog = "/bin/sh" // exits at once: its stdin is /dev/null
	}
	cmd := exec.Command(prog)
	cmd.SysProcAttr = &syscall.SysProcAttr{Ptrace: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return res, 0, fmt.Errorf("start %s under ptrace: %w", prog, err)
	}
	pid, reaped := cmd.Process.Pid, false
	defer func() {
		if !reaped { // never signal a reaped pid: it may be someone else's now
			_ = cmd.Process.Kill()
			for {
				if ws, err := wait4(pid); err != nil || ws.Exited() || ws.Signaled() {
					break
				}
			}
		}
		_ = cmd.Process.Release()
	}()

	ws, err := wait4(pid)
	if err != nil || !ws.Stopped() || ws.StopSignal() != unix.SIGTRAP {
		return res, 0, fmt.Errorf("probe child did not stop at exec (status %#x, %v)", ws, err)
	}
	_ = unix.PtraceSetOptions(pid, unix.PTRACE_O_EXITKILL)
	auxv, err := readAuxv(pid)
	if err != nil {
		return res, 0, err
	}
	if want, err = arm(pid, auxv); err != nil {
		return res, 0, err
	}
	// A breakpoint that never fires must not hang us.
	var timedOut atomic.Bool
	timer := time.AfterFunc(probeTimeout, func() { timedOut.Store(true); _ = cmd.Process.Kill() })
	defer timer.Stop()
	for sig := 0; ; {
		if err := unix.PtraceCont(pid, sig); err != nil {
			return res, want, fmt.Errorf("PTRACE_CONT: %w", err)
		}
		if ws, err = wait4(pid); err != nil {
			return res, want, err
		}
		reaped = ws.Exited() || ws.Signaled()
		switch {
		case timedOut.Load():
			return res, want, fmt.Errorf("probe child neither trapped nor exited within %v", probeTimeout)
		case reaped:
			res.exited = true
			return res, want, nil
		case ws.StopSignal() == unix.SIGTRAP:
			var regs unix.PtraceRegs
			if err := unix.PtraceGetRegs(pid, &regs); err != nil {
				return res, want, fmt.Errorf("PTRACE_GETREGS: %w", err)
			}
			res.trapped, res.pc = true, regs.Rip
			res.dr6, _ = peekUser(pid, debugReg(6))
			return res, want, nil
		default:
			sig = int(ws.StopSignal()) // not ours: deliver it
		}
	}
}

func readAuxv(pid int) (map[uint64]uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/auxv", pid))
	m := map[uint64]uint64{}
	for i := 0; i+16 <= len(b); i += 16 {
		m[binary.LittleEndian.Uint64(b[i:])] = binary.LittleEndian.Uint64(b[i+8:])
	}
	if err == nil && m[atEntry] == 0 {
		err = fmt.Errorf("no AT_ENTRY in /proc/%d/auxv", pid)
	}
	return m, err
}

func wait4(pid int) (ws unix.WaitStatus, err error) {
	for {
		if _, err = unix.Wait4(pid, &ws, unix.WALL, nil); err != unix.EINTR {
			return ws, err
		}
	}
}
