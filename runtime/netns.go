package runtime

import (
	"fmt"
	"slices"
	"strings"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/mycr/mycr/criu"
)

// chooseNetns decides how CRIU treats the container's network namespace and
// returns the choice for the metadata. Saving a netns costs CRIU a dozen process
// starts (ip save/restore, iptables-save...); when the netns holds only what the
// kernel makes for an up loopback, CRIU is told to skip it (--empty-ns network,
// as runc always does) and restore brings lo up again (loUpHook). Anything that
// cannot be checked or may hold state keeps the full dump.
// noLock tells that CRIU need not lock that netns's network (criu.RunConfig).
func chooseNetns(c *libcontainer.Container, pid int, o *libcontainer.CriuOpts) (netns string, noLock bool) {
	cfg := c.Config()
	switch {
	case o.EmptyNs&unix.CLONE_NEWNET != 0:
		return criu.NetnsEmpty, false // the user's choice, as runc
	case !cfg.Namespaces.Contains(configs.NEWNET), cfg.Namespaces.PathOf(configs.NEWNET) != "":
		return "", false // the host's or someone else's (Docker, CNI): CRIU does as before
	}
	why := configMayHoldNetState(&cfg)
	if why == "" {
		var err error
		if why, err = netnsHoldsState(pid); err != nil {
			why = "cannot inspect it: " + err.Error()
		}
	}
	if why != "" {
		logrus.Debugf("CRIU saves the network namespace of %s: %s", c.ID(), why)
		return criu.NetnsDumped, false
	}
	o.EmptyNs |= unix.CLONE_NEWNET
	return criu.NetnsEmptyLoUp, !netnsHasTCP(pid)
}

// configMayHoldNetState names what in the container's config may have put state
// into its netns that netnsHoldsState cannot see (sysctls), or "".
func configMayHoldNetState(cfg *configs.Config) string {
	for _, n := range cfg.Networks {
		if n.Type != "loopback" {
			return "it has a " + n.Type + " network"
		}
	}
	for k := range cfg.Sysctl {
		if strings.HasPrefix(k, "net.") {
			return "the spec sets sysctl " + k
		}
	}
	if cfg.HasHook(configs.Prestart, configs.CreateRuntime, configs.CreateContainer) {
		return "the spec has hooks that may set up networking"
	}
	// With CAP_NET_ADMIN, or root and a writable /proc/sys, the container may
	// have changed net sysctls, which CRIU saves and a fresh netns would not have.
	caps := cfg.Capabilities
	if caps == nil || slices.Contains(caps.Bounding, "CAP_NET_ADMIN") || slices.Contains(caps.Ambient, "CAP_NET_ADMIN") {
		return "the container may hold CAP_NET_ADMIN"
	}
	if !slices.Contains(cfg.ReadonlyPaths, "/proc/sys") {
		return "/proc/sys is writable in the container"
	}
	return ""
}

// loUpHook brings lo up in the restored container's new netns. libcontainer runs
// it at CRIU's setup-namespaces notification, before CRIU restores sockets, so
// sockets bound to 127.0.0.1 find their address. Function hooks are not saved
// in the container's state: it runs for this restore only.
func loUpHook() configs.Hook {
	return configs.NewFunctionHook(func(s *specs.State) error {
		ns, err := netns.GetFromPid(s.Pid)
		if err != nil {
			return err
		}
		defer ns.Close()
		h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
		if err != nil {
			return err
		}
		defer h.Close()
		lo, err := h.LinkByName("lo")
		if err == nil {
			err = h.LinkSetUp(lo)
		}
		if err != nil {
			return fmt.Errorf("bring up loopback in the restored network namespace: %w", err)
		}
		return nil
	})
}

// restoreNetns follows the checkpoint's netns choice: an image whose netns CRIU
// skipped is restored the same way, into a new netns whose lo the hook brings up.
// Images without the choice (earlier mycr, runc) restore as CRIU's images say.
func restoreNetns(o *RestoreOpts, cp *Checkpoint) {
	if cp.Meta == nil || cp.Meta.Netns != criu.NetnsEmptyLoUp {
		return
	}
	o.Criu.EmptyNs |= unix.CLONE_NEWNET
	if l := o.Create.Spec.Linux; l == nil || !slices.ContainsFunc(l.Namespaces, func(n specs.LinuxNamespace) bool {
		return n.Type == specs.NetworkNamespace && n.Path == ""
	}) {
		return // not a netns of its own: leave the given one alone
	}
	if o.Create.Hooks == nil {
		o.Create.Hooks = configs.Hooks{}
	}
	o.Create.Hooks[configs.Prestart] = append(o.Create.Hooks[configs.Prestart], loUpHook())
}
