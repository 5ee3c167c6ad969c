package integration

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// waitFor polls cond every 50ms until it holds, failing the test after timeout
// with what cond last said.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last: %s", timeout, what, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// counterScript is the container command of the counter tests: it rewrites
// /out/count ten times a second in place (<>: no truncation, and the numbers only
// grow longer): a checkpoint between a truncate and the write would leave the
// file empty until the restore; a rename would leave an image with a file open
// that a second restore of the same image no longer finds.
const counterScript = `i=0; while true; do i=$((i+1)); echo $i 1<>/out/count; sleep 0.1; done`

// ReadCounter reads a file holding one number (the counter file). A file caught
// between truncate and write reads as an error; callers retry.
func ReadCounter(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%s holds %q", path, s)
	}
	return n, nil
}

// MustCounter retries ReadCounter for up to 2 seconds.
func MustCounter(t *testing.T, path string) int {
	t.Helper()
	var n int
	waitFor(t, 2*time.Second, "a number in "+path, func() (bool, string) {
		var err error
		n, err = ReadCounter(path)
		if err != nil {
			return false, err.Error()
		}
		return true, ""
	})
	return n
}

// WaitCounterAbove waits until the counter file holds a number > n and returns it.
func WaitCounterAbove(t *testing.T, path string, n int, timeout time.Duration) int {
	t.Helper()
	var v int
	waitFor(t, timeout, fmt.Sprintf("the counter in %s to exceed %d", path, n), func() (bool, string) {
		var err error
		v, err = ReadCounter(path)
		if err != nil {
			return false, err.Error()
		}
		return v > n, fmt.Sprintf("counter %d", v)
	})
	return v
}

// ExpectCounterStill checks the counter does not move for d (a stopped or frozen
// writer) and returns its value.
func ExpectCounterStill(t *testing.T, path string, d time.Duration) int {
	t.Helper()
	first := MustCounter(t, path)
	time.Sleep(d)
	if now := MustCounter(t, path); now != first {
		t.Fatalf("counter in %s moved from %d to %d in %v; expected it to stand still", path, first, now, d)
	}
	return first
}

// WaitPidGone waits until pid is gone (or a zombie).
func WaitPidGone(t *testing.T, pid int, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("process %d to exit", pid), func() (bool, string) {
		return !pidAlive(pid), "still alive"
	})
}

// LastLineInt reads a file of lines and returns the last line that is a number
// (-1 if none), and every line that is not a number.
func LastLineInt(path string) (int, []string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1, nil, err
	}
	text := string(b)
	if i := strings.LastIndexByte(text, '\n'); i >= 0 {
		text = text[:i]
	} else {
		text = ""
	}
	last := -1
	var other []string
	for _, l := range strings.Split(text, "\n") {
		if l == "" {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimSpace(l)); err == nil {
			last = n
		} else {
			other = append(other, l)
		}
	}
	return last, other, nil
}
