package image

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInspectRealDump: a busybox shell dumped by the real CRIU, holding a
// known file on fd 3, a listening nc child and a string computed at run time
// (so only in its heap, not in any command line), shows up with those facts.
func TestInspectRealDump(t *testing.T) {
	bin := needCriu(t)
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("no busybox")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	known := filepath.Join(t.TempDir(), "evidence.txt")
	if err := os.WriteFile(known, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(`S=$(echo hunter | %[1]s tr a-z A-Z)-$((6*7)); exec 3<%[2]s; %[1]s nc -l -p %[3]d </dev/null >/dev/null & wait`,
		busybox, known, port)
	cmd := exec.Command(busybox, "sh", "-c", script)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "MARKER=env-value-17"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	waitListening(t, port)

	dir := t.TempDir()
	if _, err := criuDump(bin, cmd.Process.Pid, dir, dir, "--shell-job"); err != nil {
		t.Fatal(err)
	}
	in, err := Inspect(dir, allSections)
	if err != nil {
		t.Fatal(err)
	}
	root := in.Processes[0]
	if root.PID != uint32(cmd.Process.Pid) || root.Comm != "busybox" || root.State != "alive" ||
		!slices.Equal(root.Args, []string{busybox, "sh", "-c", script}) || !slices.Contains(root.Env, "MARKER=env-value-17") {
		t.Errorf("root process: %+v", root)
	}
	var nc *Process
	for i := range in.Processes {
		if p := &in.Processes[i]; p.PPID == root.PID && slices.Contains(p.Args, "-l") {
			nc = p
		}
	}
	if nc == nil {
		t.Fatalf("no nc child: %+v", in.Processes)
	}
	if !slices.ContainsFunc(in.Files, func(f OpenFile) bool {
		return f.PID == root.PID && f.Fd == "3" && f.Path == known && f.Mode == "r" && f.Type == "reg"
	}) {
		t.Errorf("fd 3 on %s not listed: %+v", known, in.Files)
	}
	if !slices.ContainsFunc(in.Sockets, func(s Socket) bool {
		return s.PID == nc.PID && s.Protocol == "tcp" && s.State == "LISTEN" && s.SrcPort == uint32(port) &&
			(s.Family == "ipv4" && s.SrcAddr == "0.0.0.0" || s.Family == "ipv6" && s.SrcAddr == "::")
	}) {
		t.Errorf("nc's listener on port %d not listed: %+v", port, in.Sockets)
	}
	if len(in.Memory) == 0 || in.Memory[0].Dumped == 0 || in.Memory[0].Mapped <= in.Memory[0].Dumped {
		t.Errorf("memory sizes: %+v", in.Memory)
	}
	res, err := Search(dir, "HUNTER-42", 8)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(res.Matches, func(m MemoryMatch) bool {
		return m.PID == root.PID && strings.Contains(m.Context, "S=HUNTER-42") && m.Mapping == "[heap]"
	}) {
		t.Errorf("the shell variable was not found in the shell's heap: %+v", res.Matches)
	}
}

func waitListening(t *testing.T, port int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b4, _ := os.ReadFile("/proc/net/tcp")
		b6, _ := os.ReadFile("/proc/net/tcp6") // busybox nc listens on :: where it can
		if l := fmt.Sprintf(":%04X ", port); strings.Contains(string(b4)+string(b6), l) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listens on port %d", port)
}
