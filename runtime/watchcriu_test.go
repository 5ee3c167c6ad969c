package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mycr/mycr/criu"
	"github.com/mycr/mycr/criu/host"
)

// TestRetryAtBreakpoint: an operation whose CRIU hung at a hardware breakpoint
// runs once more, after its reset and with breakpoints off; other failures,
// and failures the caller calls final, are returned as they are.
func TestRetryAtBreakpoint(t *testing.T) {
	t.Setenv("CRIU_FAULT", "") // DisableHWBreakpoints sets it; restored after the test
	dir := t.TempDir()
	logPath := filepath.Join(dir, "dump.log")
	if err := os.WriteFile(logPath, []byte("(00.050934) Waiting for 10908 to trap\n(00.050937) Daemon 10908 exited trapping\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hung := &criu.StallError{LogPath: logPath, Killed: []int{1}}
	run := func(final func(error) bool, errs ...error) (calls, resets int, notes []string, err error) {
		r := &Root{Dir: dir, Criu: &criu.Env{}}
		err = r.RetryAtBreakpoint(BreakpointRetry{LogPath: logPath, Final: final,
			Reset:  func() error { resets++; return nil },
			Notify: func(m string) { notes = append(notes, m) },
		}, func() error { calls++; return errs[min(calls, len(errs))-1] })
		return
	}
	calls, resets, notes, err := run(nil, hung, nil)
	if err != nil || calls != 2 || resets != 1 || len(notes) != 1 || !strings.Contains(notes[0], host.FaultNoBreakpoints) {
		t.Errorf("hung at a breakpoint: err %v, %d attempts, %d resets, notes %q", err, calls, resets, notes)
	}
	other := errors.New("criu failed")
	if calls, resets, _, err := run(nil, other, nil); !errors.Is(err, other) || calls != 1 || resets != 0 {
		t.Errorf("another failure: err %v, %d attempts, %d resets", err, calls, resets)
	}
	final := func(error) bool { return true }
	if calls, _, _, err := run(final, hung, nil); !errors.Is(err, hung) || calls != 1 {
		t.Errorf("a final failure: err %v, %d attempts", err, calls)
	}
}
