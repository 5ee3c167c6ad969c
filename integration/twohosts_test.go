package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Two "hosts" on one machine, honestly apart: each is a network namespace
// and a private mount namespace (held by a `sleep` the test starts), with its
// own sshd (Debian's openssh-server, host key and client key made by the test,
// listening only on the host's private address), its own state root and
// scratch dirs; each host's mount namespace hides the other host's dirs
// under an empty tmpfs, so whatever reaches the target went through the
// network. A third namespace, the "switch", holds the bridge both hosts'
// uplinks (veth pairs) are plugged into, and the client that talks to the
// containers. Each host bridges its uplink and its containers' veths (br0).
const (
	twoHostsNet    = "10.213.0."
	twoHostsPrefix = "/24"
	switchAddr     = twoHostsNet + "9"
)

// netHost is one of the two hosts.
type netHost struct {
	Name   string
	Addr   string // its address on the bridge
	Dir    string // its private dir (hidden from the other host)
	Env    *Env   // --root and scratch dir under Dir
	holder *exec.Cmd
	sshd   *exec.Cmd
}

// twoHosts is the whole setup.
type twoHosts struct {
	t         *testing.T
	Base      string
	A, B      *netHost
	sw        *exec.Cmd // holder of the switch namespace
	sshConfig string    // ~/.ssh/config of the migrating user (on A)
	binDir    string    // on A: the `ssh` that reads that config
}

// newTwoHosts builds the two hosts, or skips the test when the machine lacks
// sshd, ip, unshare or nsenter (make deps installs them).
func newTwoHosts(t *testing.T) *twoHosts {
	t.Helper()
	for _, bin := range []string{"/usr/sbin/sshd", "ssh", "ssh-keygen", "ip", "unshare", "nsenter"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("two-host tests need %s (make deps installs openssh-server, iproute2): %v", bin, err)
		}
	}
	base, err := os.MkdirTemp("", "mycr-twohosts-")
	if err != nil {
		t.Fatal(err)
	}
	h := &twoHosts{t: t, Base: base}
	t.Cleanup(func() { os.RemoveAll(base) })
	h.sw = h.holder("--net")
	t.Cleanup(h.stop)
	h.nsRun(h.sw, "n", "ip", "link", "set", "lo", "up")
	h.nsRun(h.sw, "n", "ip", "link", "add", "br0", "type", "bridge")
	h.nsRun(h.sw, "n", "ip", "addr", "add", switchAddr+twoHostsPrefix, "dev", "br0")
	h.nsRun(h.sw, "n", "ip", "link", "set", "br0", "up")
	h.A = h.newHost("a", twoHostsNet+"1")
	h.B = h.newHost("b", twoHostsNet+"2")
	// Each host's view hides the other's dir.
	h.nsRun(h.A.holder, "m", "mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "hidden", h.B.Dir)
	h.nsRun(h.B.holder, "m", "mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "hidden", h.A.Dir)
	if rate := os.Getenv("MYCR_TWOHOSTS_RATE"); rate != "" {
		h.Shape(rate)
	}
	h.sshKeys()
	h.startSSHD(h.A)
	h.startSSHD(h.B)
	h.waitSSH(h.B)
	return h
}

// holder starts `unshare FLAGS sleep` and returns it (its namespaces are the host's).
func (h *twoHosts) holder(flags ...string) *exec.Cmd {
	h.t.Helper()
	args := append(flags, "--", "sleep", "infinity")
	cmd := exec.Command("unshare", args...)
	if err := cmd.Start(); err != nil {
		h.t.Fatalf("unshare: %v", err)
	}
	// unshare execs sleep in the new namespaces: wait until it has.
	waitFor(h.t, 5*time.Second, "the namespace holder", func() (bool, string) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", cmd.Process.Pid))
		return err == nil && strings.TrimSpace(string(b)) == "sleep", string(b)
	})
	return cmd
}

func (h *twoHosts) newHost(name, addr string) *netHost {
	h.t.Helper()
	n := &netHost{Name: name, Addr: addr, Dir: filepath.Join(h.Base, name)}
	for _, d := range []string{"root", "scratch", "tmp", "ssh"} {
		if err := os.MkdirAll(filepath.Join(n.Dir, d), 0o700); err != nil {
			h.t.Fatal(err)
		}
	}
	n.Env = NewEnv(h.t)
	n.Env.Root, n.Env.Dir = filepath.Join(n.Dir, "root"), filepath.Join(n.Dir, "scratch")
	n.holder = h.holder("--net", "--mount", "--propagation", "private")
	pid := strconv.Itoa(n.holder.Process.Pid)
	veth := "v" + name
	h.nsRun(h.sw, "n", "ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", pid)
	h.nsRun(h.sw, "n", "ip", "link", "set", veth, "master", "br0", "up")
	// The host's uplink eth0 is a port of its own bridge br0, which holds its
	// address and where its containers' veths plug in (as Docker's or CNI's).
	for _, c := range [][]string{{"link", "set", "lo", "up"}, {"link", "add", "br0", "type", "bridge"},
		{"link", "set", "eth0", "master", "br0"}, {"link", "set", "eth0", "up"},
		{"addr", "add", addr + twoHostsPrefix, "dev", "br0"}, {"link", "set", "br0", "up"}} {
		h.nsRun(n.holder, "n", append([]string{"ip"}, c...)...)
	}
	// Named network namespaces (/run/netns) are the host's own.
	if err := os.MkdirAll("/run/netns", 0o755); err != nil {
		h.t.Fatal(err)
	}
	h.nsRun(n.holder, "m", "mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "netns", "/run/netns")
	return n
}

// nsRun runs a command in the namespaces (n: net, m: mount, "nm": both) of holder.
func (h *twoHosts) nsRun(holder *exec.Cmd, which string, args ...string) string {
	h.t.Helper()
	out, err := h.nsCmd(holder, which, args...).CombinedOutput()
	if err != nil {
		h.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (h *twoHosts) nsCmd(holder *exec.Cmd, which string, args ...string) *exec.Cmd {
	ns := []string{"-t", strconv.Itoa(holder.Process.Pid)}
	for _, c := range which {
		ns = append(ns, "-"+string(c))
	}
	return exec.Command("nsenter", append(append(ns, "--"), args...)...)
}

// sshKeys makes the migrating user's key, ssh config and known_hosts on A, and
// authorizes the key on both hosts.
func (h *twoHosts) sshKeys() {
	h.t.Helper()
	home := filepath.Join(h.A.Dir, "home")
	h.binDir = filepath.Join(h.A.Dir, "bin")
	for _, d := range []string{home, h.binDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			h.t.Fatal(err)
		}
	}
	key := filepath.Join(home, "id_ed25519")
	mustExec(h.t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "mycr-test", "-f", key)
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		h.t.Fatal(err)
	}
	var known, cfg strings.Builder
	for _, n := range []*netHost{h.A, h.B} {
		hk := filepath.Join(n.Dir, "ssh", "host_ed25519")
		mustExec(h.t, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hk)
		hpub, err := os.ReadFile(hk + ".pub")
		if err != nil {
			h.t.Fatal(err)
		}
		fields := strings.Fields(string(hpub))
		fmt.Fprintf(&known, "%s %s %s\n", n.Addr, fields[0], fields[1])
		writeFile(h.t, filepath.Join(n.Dir, "ssh", "authorized_keys"), string(pub), 0o600)
		fmt.Fprintf(&cfg, "Host host%s\n  HostName %s\n  User root\n", n.Name, n.Addr)
	}
	writeFile(h.t, filepath.Join(home, "known_hosts"), known.String(), 0o600)
	fmt.Fprintf(&cfg, "Host *\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n  ConnectTimeout 10\n",
		key, filepath.Join(home, "known_hosts"))
	h.sshConfig = filepath.Join(home, "config")
	writeFile(h.t, h.sshConfig, cfg.String(), 0o600)
	// ssh reads ~/.ssh/config from the passwd entry's home, not $HOME: the
	// test's user gets its config through this ssh in PATH.
	writeFile(h.t, filepath.Join(h.binDir, "ssh"), fmt.Sprintf("#!/bin/sh\nexec /usr/bin/ssh -F %s \"$@\"\n", h.sshConfig), 0o755)
}

// startSSHD runs the host's own sshd on its private address only.
func (h *twoHosts) startSSHD(n *netHost) {
	h.t.Helper()
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // sshd's privilege separation dir
		h.t.Fatal(err)
	}
	cfg := filepath.Join(n.Dir, "ssh", "sshd_config")
	writeFile(h.t, cfg, fmt.Sprintf(`ListenAddress %s:22
HostKey %s
AuthorizedKeysFile %s
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
ClientAliveInterval 5
SetEnv TMPDIR=%s
`, n.Addr, filepath.Join(n.Dir, "ssh", "host_ed25519"), filepath.Join(n.Dir, "ssh", "authorized_keys"), filepath.Join(n.Dir, "tmp")), 0o600)
	n.sshd = h.nsCmd(n.holder, "nm", "/usr/sbin/sshd", "-D", "-e", "-f", cfg)
	log, err := os.Create(filepath.Join(h.Base, "sshd-"+n.Name+".log"))
	if err != nil {
		h.t.Fatal(err)
	}
	n.sshd.Stdout, n.sshd.Stderr = log, log
	if err := n.sshd.Start(); err != nil {
		h.t.Fatalf("sshd on %s: %v", n.Name, err)
	}
}

// waitSSH waits until A logs into n through ssh.
func (h *twoHosts) waitSSH(n *netHost) {
	h.t.Helper()
	waitFor(h.t, 20*time.Second, "sshd on host "+n.Name, func() (bool, string) {
		out, err := h.OnA("ssh", "host"+n.Name, "true").CombinedOutput()
		return err == nil, string(out)
	})
}

// OnA is a command on host A (its namespaces, its TMPDIR, the user's ssh in PATH).
func (h *twoHosts) OnA(args ...string) *exec.Cmd {
	cmd := h.nsCmd(h.A.holder, "nm", args...)
	cmd.Env = append(os.Environ(), "TMPDIR="+filepath.Join(h.A.Dir, "tmp"), "PATH="+h.binDir+":"+os.Getenv("PATH"))
	return cmd
}

// StartOn runs `mycr --root HOST-ROOT args...` in the host's namespaces.
func (h *twoHosts) StartOn(n *netHost, args ...string) *Proc {
	h.t.Helper()
	return n.Env.start(Stdio{}, func(cmd *exec.Cmd) {
		ns := []string{"nsenter", "-t", strconv.Itoa(n.holder.Process.Pid), "-m", "-n", "--"}
		cmd.Args = append(ns, cmd.Args...)
		cmd.Path, _ = exec.LookPath("nsenter")
		cmd.Env = append(os.Environ(), "TMPDIR="+filepath.Join(n.Dir, "tmp"), "PATH="+h.binDir+":"+os.Getenv("PATH"))
	}, args...)
}

// RunOn runs a mycr command on a host to completion.
func (h *twoHosts) RunOn(n *netHost, timeout time.Duration, args ...string) Result {
	h.t.Helper()
	return h.StartOn(n, args...).Wait(timeout)
}

// VethBytes is what crossed host n's link (received + sent on its eth0), read
// from /proc/net/dev in its network namespace.
func (h *twoHosts) VethBytes(n *netHost) int64 {
	h.t.Helper()
	for _, line := range strings.Split(h.nsRun(n.holder, "n", "cat", "/proc/net/dev"), "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || name != "eth0" {
			continue
		}
		f := strings.Fields(rest)
		rx, err1 := strconv.ParseInt(f[0], 10, 64)
		tx, err2 := strconv.ParseInt(f[8], 10, 64)
		if err1 != nil || err2 != nil {
			h.t.Fatalf("/proc/net/dev: %q", line)
		}
		return rx + tx
	}
	h.t.Fatalf("no eth0 on host %s", n.Name)
	return 0
}

// Shape limits the link between the hosts to rate (tc's units: 100mbit,
// 1gbit) in both directions: a token bucket (tbf) on each end of both
// uplinks. "" removes it. This kernel has no sch_netem: no delay or loss.
func (h *twoHosts) Shape(rate string) {
	h.t.Helper()
	for _, n := range []*netHost{h.A, h.B} {
		for _, end := range []struct {
			holder *exec.Cmd
			dev    string
		}{{n.holder, "eth0"}, {h.sw, "v" + n.Name}} {
			if rate == "" {
				_ = h.nsCmd(end.holder, "n", "tc", "qdisc", "del", "dev", end.dev, "root").Run()
				continue
			}
			h.nsRun(end.holder, "n", "tc", "qdisc", "replace", "dev", end.dev, "root", "tbf", "rate", rate, "burst", "256kb", "latency", "100ms")
		}
	}
}

// stop kills what the setup started (by pid): sshds, then the holders.
func (h *twoHosts) stop() {
	for _, n := range []*netHost{h.A, h.B} {
		if n == nil {
			continue
		}
		for _, c := range []*exec.Cmd{n.sshd, n.holder} {
			if c != nil && c.Process != nil {
				_ = c.Process.Signal(syscall.SIGKILL)
				_ = c.Wait()
			}
		}
	}
	if h.sw != nil {
		_ = h.sw.Process.Signal(syscall.SIGKILL)
		_ = h.sw.Wait()
	}
}

func mustExec(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func writeFile(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}
