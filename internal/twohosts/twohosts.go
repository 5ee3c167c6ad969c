// Package twohosts makes two "hosts" on one machine, honestly apart, for the
// cross-host migration tests and benchmark: each host is a network namespace
// and a private mount namespace (held by a `sleep`), with its own sshd
// (Debian's openssh-server, host and client keys made here, listening only on
// the host's private address) and its own private directory, which the other
// host's mount namespace hides under an empty tmpfs, so whatever reaches the
// target went through the network. A third namespace, the "switch", holds the
// bridge both hosts' veth pairs are plugged into; it is where a client that
// talks to the containers lives.
package twohosts

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The private network of the setup (never routed anywhere).
const (
	Net        = "10.213.0."
	Prefix     = "/24"
	SwitchAddr = Net + "9"
)

// Host is one of the two hosts.
type Host struct {
	Name   string // "a" or "b"; "host"+Name is its name in the ssh config
	Addr   string // its address on the bridge
	Dir    string // its private dir (hidden from the other host): root/, scratch/, tmp/, ssh/
	holder *exec.Cmd
	sshd   *exec.Cmd
}

// Root is the host's mycr state root.
func (n *Host) Root() string { return filepath.Join(n.Dir, "root") }

// Tmp is the host's TMPDIR (what its commands and its sshd sessions get).
func (n *Host) Tmp() string { return filepath.Join(n.Dir, "tmp") }

// SSHDPid is the pid of the host's sshd (its sessions are its children).
func (n *Host) SSHDPid() int { return n.sshd.Process.Pid }

// Pid is the pid of the process that holds the host's namespaces.
func (n *Host) Pid() int { return n.holder.Process.Pid }

// Hosts is the whole setup. A migrates to B as "root@hostb" through the ssh
// in BinDir, which reads SSHConfig.
type Hosts struct {
	Base      string
	runner    Runner
	A, B      *Host
	Switch    *exec.Cmd // holder of the switch namespace
	SSHConfig string
	BinDir    string
}

// Runner runs a short command to its end and returns its combined output.
// A caller that reaps every child itself (a subreaper's wait4(-1) loop steals
// os/exec's exit statuses) passes its own; nil is os/exec's CombinedOutput.
type Runner func(*exec.Cmd) ([]byte, error)

// Missing says which tool the setup needs is not installed ("" if none).
func Missing() string {
	for _, bin := range []string{"/usr/sbin/sshd", "ssh", "ssh-keygen", "ip", "unshare", "nsenter", "tc"} {
		if _, err := exec.LookPath(bin); err != nil {
			return bin
		}
	}
	return ""
}

// holder starts `unshare FLAGS sleep infinity`: its namespaces are a host's.
func holder(flags ...string) (*exec.Cmd, error) {
	cmd := exec.Command("unshare", append(flags, "--", "sleep", "infinity")...)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("unshare: %w", err)
	}
	// unshare execs sleep in the new namespaces: wait until it has.
	comm := fmt.Sprintf("/proc/%d/comm", cmd.Process.Pid)
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile(comm); err == nil && strings.TrimSpace(string(b)) == "sleep" {
			return cmd, nil
		}
	}
	kill(cmd)
	return nil, fmt.Errorf("unshare %s: the namespace holder did not start within 10 s", strings.Join(flags, " "))
}

func (h *Hosts) newHost(name, addr string) (*Host, error) {
	n := &Host{Name: name, Addr: addr, Dir: filepath.Join(h.Base, name)}
	for _, d := range []string{"root", "scratch", "tmp", "ssh"} {
		if err := os.MkdirAll(filepath.Join(n.Dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	var err error
	if n.holder, err = holder("--net", "--mount", "--propagation", "private"); err != nil {
		return nil, err
	}
	pid, veth := strconv.Itoa(n.Pid()), "v"+name
	cmds := []*exec.Cmd{
		nsCmd(h.Switch, "n", "ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", pid),
		nsCmd(h.Switch, "n", "ip", "link", "set", veth, "master", "br0", "up"),
	}
	// The host's uplink eth0 is a port of its own bridge br0, which holds its
	// address and where its containers' veths plug in (as Docker's or CNI's).
	for _, c := range [][]string{{"link", "set", "lo", "up"}, {"link", "add", "br0", "type", "bridge"},
		{"link", "set", "eth0", "master", "br0"}, {"link", "set", "eth0", "up"},
		{"addr", "add", addr + Prefix, "dev", "br0"}, {"link", "set", "br0", "up"}} {
		cmds = append(cmds, nsCmd(n.holder, "n", append([]string{"ip"}, c...)...))
	}
	// Named network namespaces (/run/netns) are the host's own.
	if err := os.MkdirAll("/run/netns", 0o755); err != nil {
		return n, err
	}
	cmds = append(cmds, nsCmd(n.holder, "m", "mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "netns", "/run/netns"))
	for _, c := range cmds {
		if err := h.run(c); err != nil {
			return n, err
		}
	}
	return n, nil
}

// NsCmd is a command in the namespaces of host n (which: "n" net, "m" mount, "nm" both).
func (h *Hosts) NsCmd(n *Host, which string, args ...string) *exec.Cmd {
	return nsCmd(n.holder, which, args...)
}

// SwitchCmd is a command in the switch's network namespace.
func (h *Hosts) SwitchCmd(args ...string) *exec.Cmd { return nsCmd(h.Switch, "n", args...) }

func nsCmd(holder *exec.Cmd, which string, args ...string) *exec.Cmd {
	ns := []string{"-t", strconv.Itoa(holder.Process.Pid)}
	for _, c := range which {
		ns = append(ns, "-"+string(c))
	}
	return exec.Command("nsenter", append(append(ns, "--"), args...)...)
}

// Env is the environment of a command on host n: its TMPDIR, and the user's
// ssh (with the setup's config) first in PATH.
func (h *Hosts) Env(n *Host) []string {
	env := []string{"TMPDIR=" + n.Tmp(), "PATH=" + h.BinDir + ":" + os.Getenv("PATH")}
	for _, kv := range os.Environ() { // no duplicates: getenv(3) would take the first
		if !strings.HasPrefix(kv, "TMPDIR=") && !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	return env
}

// On is a command on host n (its namespaces and Env).
func (h *Hosts) On(n *Host, args ...string) *exec.Cmd {
	cmd := nsCmd(n.holder, "nm", args...)
	cmd.Env = h.Env(n)
	return cmd
}

// Wrap is the prefix that runs a command line in host n's namespaces.
func (h *Hosts) Wrap(n *Host) []string {
	return []string{"nsenter", "-t", strconv.Itoa(n.Pid()), "-m", "-n", "--"}
}

// Shape limits the link between the hosts to rate (tc's syntax: "1gbit",
// "100mbit") in both directions: a token bucket filter (tbf) on each end of
// both uplinks; "" removes it. This kernel has no netem: no delay or loss.
func (h *Hosts) Shape(rate string) error {
	for _, n := range []*Host{h.A, h.B} {
		for _, end := range []struct {
			holder *exec.Cmd
			dev    string
		}{{n.holder, "eth0"}, {h.Switch, "v" + n.Name}} {
			if rate == "" {
				_, _ = h.runner(nsCmd(end.holder, "n", "tc", "qdisc", "del", "dev", end.dev, "root")) // none there: nothing to remove
				continue
			}
			if err := h.run(nsCmd(end.holder, "n", "tc", "qdisc", "replace", "dev", end.dev, "root", "tbf",
				"rate", rate, "burst", "256kb", "latency", "100ms")); err != nil {
				return err
			}
		}
	}
	return nil
}

// LinkBytes is what crossed host n's link (received + sent on its eth0), read
// from /proc/net/dev in its network namespace.
func (h *Hosts) LinkBytes(n *Host) (int64, error) {
	out, err := h.runner(nsCmd(n.holder, "n", "cat", "/proc/net/dev"))
	if err != nil {
		return 0, fmt.Errorf("/proc/net/dev of host %s: %w", n.Name, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || name != "eth0" {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 9 {
			return 0, fmt.Errorf("/proc/net/dev: %q", line)
		}
		rx, err1 := strconv.ParseInt(f[0], 10, 64)
		tx, err2 := strconv.ParseInt(f[8], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("/proc/net/dev: %q", line)
		}
		return rx + tx, nil
	}
	return 0, fmt.Errorf("no eth0 on host %s", n.Name)
}

// SharedSSHName is the name in A's ssh config that reaches n through one
// shared ssh connection (ControlMaster auto, ControlPersist); "host"+Name
// reaches it with a connection of its own each time.
func (n *Host) SharedSSHName() string { return "host" + n.Name + "-shared" }

// Stop kills what the setup started (by pid): the shared ssh connection (through
// its socket), the sshds, then the holders.
func (h *Hosts) Stop() {
	if h.A != nil && h.B != nil && h.A.holder != nil && h.BinDir != "" {
		_, _ = h.runner(h.On(h.A, "ssh", "-O", "exit", h.B.SharedSSHName())) // none open: nothing to end
	}
	for _, n := range []*Host{h.A, h.B} {
		if n != nil {
			kill(n.sshd)
			kill(n.holder)
		}
	}
	kill(h.Switch)
}

func kill(c *exec.Cmd) {
	if c != nil && c.Process != nil {
		_ = c.Process.Signal(syscall.SIGKILL)
		_ = c.Wait()
	}
}

func (h *Hosts) run(c *exec.Cmd) error {
	if out, err := h.runner(c); err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(c.Args, " "), err, out)
	}
	return nil
}
