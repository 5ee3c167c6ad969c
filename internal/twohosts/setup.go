package twohosts

import (
	"fmt"
	"os/exec"
	"time"
)

// New builds both hosts under base (an existing, empty dir) and waits until A
// logs into B through ssh. On error, what was started is stopped.
func New(base string, runner Runner) (h *Hosts, err error) {
	if bin := Missing(); bin != "" {
		return nil, fmt.Errorf("two hosts need %s (make deps installs openssh-server, iproute2)", bin)
	}
	if runner == nil {
		runner = (*exec.Cmd).CombinedOutput
	}
	h = &Hosts{Base: base, runner: runner}
	defer func() {
		if err != nil {
			h.Stop()
		}
	}()
	if h.Switch, err = holder("--net"); err != nil {
		return nil, err
	}
	for _, args := range [][]string{
		{"ip", "link", "set", "lo", "up"},
		{"ip", "link", "add", "br0", "type", "bridge"},
		{"ip", "addr", "add", SwitchAddr + Prefix, "dev", "br0"},
		{"ip", "link", "set", "br0", "up"},
	} {
		if err := h.run(nsCmd(h.Switch, "n", args...)); err != nil {
			return nil, err
		}
	}
	if h.A, err = h.newHost("a", Net+"1"); err != nil {
		return nil, err
	}
	if h.B, err = h.newHost("b", Net+"2"); err != nil {
		return nil, err
	}
	// Each host's view hides the other's dir.
	for _, p := range [][2]*Host{{h.A, h.B}, {h.B, h.A}} {
		if err := h.run(nsCmd(p[0].holder, "m", "mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "hidden", p[1].Dir)); err != nil {
			return nil, err
		}
	}
	if err := h.sshKeys(); err != nil {
		return nil, err
	}
	for _, n := range []*Host{h.A, h.B} {
		if err := h.startSSHD(n); err != nil {
			return nil, err
		}
	}
	return h, h.waitSSH(h.B, 20*time.Second)
}
