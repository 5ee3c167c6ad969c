package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mycr/mycr/internal/twohosts"
)

// Two "hosts" on one machine, honestly apart (internal/twohosts: network and
// mount namespaces, an sshd each, neither host able to read the other's
// dirs, a bridge in a third "switch" namespace where the test's clients
// live), each with a test Env whose state root and scratch dir are the host's.
const (
	twoHostsNet    = twohosts.Net
	twoHostsPrefix = twohosts.Prefix
	switchAddr     = twohosts.SwitchAddr
)

// netHost is one of the two hosts.
type netHost struct {
	*twohosts.Host
	Env *Env // --root and scratch dir under Dir
}

// twoHosts is the whole setup, failing the test on errors.
type twoHosts struct {
	*twohosts.Hosts
	t      *testing.T
	A, B   *netHost
	target string // B's name in A's ssh config: hostb, or its shared-connection name
}

// newTwoHosts builds the two hosts, or skips the test when the machine lacks
// sshd, ip, tc, unshare or nsenter (make deps installs them). MYCR_TWOHOSTS_RATE
// shapes their link (tc's rate syntax); MYCR_TWOHOSTS_SSH_SHARED=1 makes A's
// ssh share one connection to B.
func newTwoHosts(t *testing.T) *twoHosts {
	t.Helper()
	if bin := twohosts.Missing(); bin != "" {
		t.Skipf("two-host tests need %s (make deps installs openssh-server, iproute2)", bin)
	}
	base, err := os.MkdirTemp("", "mycr-twohosts-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	hs, err := twohosts.New(base, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hs.Stop)
	h := &twoHosts{Hosts: hs, t: t, target: "hostb"}
	h.A, h.B = h.withEnv(hs.A), h.withEnv(hs.B)
	if rate := os.Getenv("MYCR_TWOHOSTS_RATE"); rate != "" {
		h.Shape(rate)
	}
	if os.Getenv("MYCR_TWOHOSTS_SSH_SHARED") != "" {
		h.target = hs.B.SharedSSHName()
	}
	return h
}

func (h *twoHosts) withEnv(n *twohosts.Host) *netHost {
	e := NewEnv(h.t)
	e.Root, e.Dir = n.Root(), filepath.Join(n.Dir, "scratch")
	return &netHost{Host: n, Env: e}
}

// nsRun runs a command in the namespaces of host n (which: "n" net, "m" mount, "nm" both).
func (h *twoHosts) nsRun(n *netHost, which string, args ...string) string {
	h.t.Helper()
	out, err := h.NsCmd(n.Host, which, args...).CombinedOutput()
	if err != nil {
		h.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// StartOn runs `mycr --root HOST-ROOT args...` in the host's namespaces.
func (h *twoHosts) StartOn(n *netHost, args ...string) *Proc {
	h.t.Helper()
	return n.Env.start(Stdio{}, func(cmd *exec.Cmd) {
		cmd.Args = append(h.Wrap(n.Host), cmd.Args...)
		cmd.Path, _ = exec.LookPath(cmd.Args[0])
		cmd.Env = h.Env(n.Host)
	}, args...)
}

// RunOn runs a mycr command on a host to completion.
func (h *twoHosts) RunOn(n *netHost, timeout time.Duration, args ...string) Result {
	h.t.Helper()
	return h.StartOn(n, args...).Wait(timeout)
}

// VethBytes is what crossed host n's link (received + sent on its uplink).
func (h *twoHosts) VethBytes(n *netHost) int64 {
	h.t.Helper()
	b, err := h.LinkBytes(n.Host)
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

// Shape limits the link between the hosts to rate in both directions ("" removes it).
func (h *twoHosts) Shape(rate string) {
	h.t.Helper()
	if err := h.Hosts.Shape(rate); err != nil {
		h.t.Fatal(err)
	}
}
