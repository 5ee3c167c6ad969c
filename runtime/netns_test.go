package runtime

import (
	"net"
	"os/exec"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/vishvananda/netns"
)

// TestNetnsHoldsState changes a real netns step by step and checks that each
// kind of state a fresh netns would lack is seen (and that a bare one passes).
func TestNetnsHoldsState(t *testing.T) {
	for _, tool := range []string{"unshare", "nsenter", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool + " not installed")
		}
	}
	holder := exec.Command("unshare", "-n", "sleep", "300")
	if err := holder.Start(); err != nil {
		t.Skip("cannot create a network namespace: ", err)
	}
	defer func() { _ = holder.Process.Kill(); _ = holder.Wait() }()
	pid := holder.Process.Pid
	time.Sleep(50 * time.Millisecond) // until unshare has exec'd sleep in the new netns
	in := func(args ...string) {
		t.Helper()
		cmd := append([]string{"-t", strconv.Itoa(pid), "-n"}, args...)
		if out, err := exec.Command("nsenter", cmd...).CombinedOutput(); err != nil {
			t.Fatalf("nsenter %v: %v\n%s", cmd, err, out)
		}
	}
	expect := func(step, wantWhy string) {
		t.Helper()
		why, err := netnsHoldsState(pid)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if wantWhy == "" && why != "" || wantWhy != "" && !strings.Contains(why, wantWhy) {
			t.Errorf("%s: got %q, want %q", step, why, wantWhy)
		}
	}
	expect("fresh netns, lo down", "lo is not as the kernel sets it up")
	in("ip", "link", "set", "lo", "up")
	expect("lo up", "")
	checkNetnsHasTCP(t, pid)
	in("ip", "addr", "add", "127.0.0.2/8", "dev", "lo")
	expect("extra address", "127.0.0.2/8")
	in("ip", "addr", "del", "127.0.0.2/8", "dev", "lo")
	expect("extra address removed", "")
	in("ip", "route", "add", "10.9.0.0/16", "dev", "lo")
	expect("extra route", "10.9.0.0/16")
	in("ip", "route", "del", "10.9.0.0/16", "dev", "lo")
	in("ip", "rule", "add", "from", "10.1.0.0/16", "lookup", "100")
	expect("extra rule", "rule")
	in("ip", "rule", "del", "from", "10.1.0.0/16", "lookup", "100")
	expect("rule removed", "")
	in("ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1")
	expect("veth link", "link v")
	in("ip", "link", "del", "v0")
	if _, err := exec.LookPath("nft"); err == nil {
		in("nft", "add", "table", "inet", "t")
		expect("nftables table", "nftables")
		in("nft", "delete", "table", "inet", "t")
	}
	if _, err := exec.LookPath("iptables-legacy"); err == nil {
		in("iptables-legacy", "-L", "-n")
		expect("iptables-legacy filter table", "filter")
	}
}

// TestConfigMayHoldNetState: config settings that may have put state into the
// netns that netnsHoldsState cannot see keep the full netns dump.
func TestConfigMayHoldNetState(t *testing.T) {
	bare := func() *configs.Config {
		return &configs.Config{
			Networks:      []*configs.Network{{Type: "loopback"}},
			Capabilities:  &configs.Capabilities{Bounding: []string{"CAP_KILL"}},
			ReadonlyPaths: []string{"/proc/sys"},
		}
	}
	if why := configMayHoldNetState(bare()); why != "" {
		t.Fatalf("runc's default config: got %q, want nothing", why)
	}
	for name, change := range map[string]func(*configs.Config){
		"veth network":  func(c *configs.Config) { c.Networks = append(c.Networks, &configs.Network{Type: "veth"}) },
		"net sysctl":    func(c *configs.Config) { c.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"} },
		"prestart hook": func(c *configs.Config) { c.Hooks = configs.Hooks{configs.Prestart: {loUpHook()}} },
		"CAP_NET_ADMIN": func(c *configs.Config) { c.Capabilities.Bounding = append(c.Capabilities.Bounding, "CAP_NET_ADMIN") },
		"all caps":      func(c *configs.Config) { c.Capabilities = nil },
		"/proc/sys rw":  func(c *configs.Config) { c.ReadonlyPaths = nil },
	} {
		c := bare()
		change(c)
		if why := configMayHoldNetState(c); why == "" {
			t.Errorf("%s: not seen", name)
		}
	}
}

// checkNetnsHasTCP: a TCP listener in the netns, held by a process outside the
// container (here: this test), keeps CRIU's network lock.
func checkNetnsHasTCP(t *testing.T, pid int) {
	t.Helper()
	if netnsHasTCP(pid) {
		t.Fatal("fresh netns: netnsHasTCP true")
	}
	ln := listenIn(t, pid)
	if !netnsHasTCP(pid) {
		t.Error("netns with a TCP listener: netnsHasTCP false")
	}
	ln.Close()
	if netnsHasTCP(pid) {
		t.Error("listener closed: netnsHasTCP still true")
	}
}

// listenIn opens a TCP listener on 127.0.0.1 inside pid's network namespace.
func listenIn(t *testing.T, pid int) net.Listener {
	t.Helper()
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	target, err := netns.GetFromPid(pid)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		t.Fatal(err)
	}
	ln, lerr := net.Listen("tcp", "127.0.0.1:0")
	if err := netns.Set(orig); err != nil {
		t.Fatal(err) // this thread must not go back to the pool in the other netns
	}
	if lerr != nil {
		t.Fatal(lerr)
	}
	return ln
}

func TestSockstatInuse(t *testing.T) {
	const v4 = "sockets: used 3\nTCP: inuse 2 orphan 0 tw 1 alloc 4 mem 1\nUDP: inuse 1 mem 0\n"
	if n, ok := sockstatInuse(v4, "TCP:"); !ok || n != 2 {
		t.Errorf("TCP inuse = %d, %v; want 2", n, ok)
	}
	if n, ok := sockstatInuse("TCP6: inuse 0\nUDP6: inuse 0\n", "TCP6:"); !ok || n != 0 {
		t.Errorf("TCP6 inuse = %d, %v; want 0", n, ok)
	}
	if _, ok := sockstatInuse("UDP: inuse 1\n", "TCP:"); ok {
		t.Error("no TCP line: ok")
	}
}
