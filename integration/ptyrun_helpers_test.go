package integration

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// TtyResult is a command run with its stderr on a pseudo-terminal.
type TtyResult struct {
	Code   int
	Stdout string // a pipe, as usual
	Tty    string // everything written to the terminal (stderr)
}

// RunStderrOnTty runs `mycr --root R args...` as a person at a terminal does,
// as far as mycr can tell: stderr is a pty (stdin is /dev/null, stdout a pipe).
// A detached container may keep the terminal open, so the terminal is read
// until the command exits and then for a short while, not until EOF.
func (e *Env) RunStderrOnTty(t *testing.T, args ...string) TtyResult {
	t.Helper()
	master, slave := openPty(t)
	cmd := exec.Command(mycrBin, append(e.globals(), args...)...)
	// A pipe read in the background: a restored detached container inherits it.
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer outR.Close()
	cmd.Stdout, cmd.Stderr = outW, slave
	var mu sync.Mutex
	var stdout, tty bytes.Buffer
	collect := func(f *os.File, buf *bytes.Buffer) {
		b := make([]byte, 4096)
		for {
			n, err := f.Read(b)
			mu.Lock()
			buf.Write(b[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}
	go collect(master, &tty)
	go collect(outR, &stdout)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	outW.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(defaultTimeout):
		_ = cmd.Process.Kill()
		t.Fatalf("%s %s: timed out", progName, strings.Join(args, " "))
	}
	time.Sleep(300 * time.Millisecond) // the last writes reach the master
	var r TtyResult
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.Code = ee.ExitCode()
	} else if err != nil {
		r.Code = -1
	}
	mu.Lock()
	r.Tty, r.Stdout = tty.String(), stdout.String()
	mu.Unlock()
	if testing.Verbose() {
		t.Logf("%s %s (stderr on a tty) -> %d (%v)", progName, strings.Join(quoteArgs(args), " "), r.Code, time.Since(start).Round(time.Millisecond))
	}
	return r
}

// RunWithEnv runs `mycr --root R args...` with extra environment variables.
func (e *Env) RunWithEnv(t *testing.T, env []string, args ...string) Result {
	t.Helper()
	cmd := exec.Command(mycrBin, append(e.globals(), args...)...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	r := Result{Args: args, Stdout: out.String(), Stderr: errOut.String(), Dur: time.Since(start)}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.Code = ee.ExitCode()
	} else if err != nil {
		r.Code, r.Err = -1, err
	}
	if testing.Verbose() {
		t.Logf("%s %s %s -> %d (%v)", strings.Join(env, " "), progName, strings.Join(quoteArgs(args), " "), r.Code, r.Dur.Round(time.Millisecond))
	}
	return r
}
