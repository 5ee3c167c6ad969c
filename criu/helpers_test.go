package criu

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mycr/mycr/criu/internal/criutest"
)

// The test binary doubles as the process that CRIU dumps (see TestMain).
const helperEnv = "MYCR_CRIU_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		runHelper(mode, os.Args[1:])
		os.Exit(0)
	}
	// Dump targets and CRIU get a container's usual open-files limit (the
	// spec's default, 1024). With a higher hard limit that CRIU cannot lift to
	// fs.nr_open (no CAP_SYS_RESOURCE; 20000:20000 in some shells here) CRIU
	// 4.2.1's dumps of these helpers failed ("Unable to detach ... No such
	// process"), which no container under mycr meets.
	lim := syscall.Rlimit{Cur: 1024, Max: 1024}
	_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	os.Exit(m.Run())
}

// runHelper never returns: it is a tiny long-running dump target.
func runHelper(mode string, args []string) {
	switch mode {
	case "counter": // proves liveness: the file keeps counting up
		for i := 1; ; i++ {
			_ = os.WriteFile(args[0], []byte(strconv.Itoa(i)), 0o600)
			time.Sleep(20 * time.Millisecond)
		}
	case "unix", "tcp": // holds a connection to a peer outside the dump
		c, err := net.Dial(mode, args[0])
		if err != nil {
			os.Exit(3)
		}
		defer c.Close()
	}
	select {}
}

// startHelper runs the test binary as a dump target in its own session
// (CRIU wants the root of a dump to be a session leader).
func startHelper(t *testing.T, mode string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	time.Sleep(200 * time.Millisecond) // let the Go runtime settle before dumps
	return cmd
}

// needCriu returns the criu binary or skips the test; criuDump dumps a pid.
var (
	needCriu = criutest.NeedCriu
	criuDump = criutest.Dump
)

// procField reads one "Name:\tvalue" line of /proc/<pid>/status.
func procField(pid int, name string) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// unsetEnv unsets key for this test and restores it afterwards.
func unsetEnv(t *testing.T, key string) {
	t.Setenv(key, "")
	os.Unsetenv(key)
}
