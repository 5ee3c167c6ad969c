package migrate

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// A container's network identity: the named network namespace its bundle
// joins (made by the host, as CNI, Docker or Podman do: /run/netns/NAME) and
// the veth pairs in it, whose host ends are plugged into a bridge. Moving the
// container to another host moves that identity: the target makes the
// namespace under the same path, the same interfaces (name, MAC, MTU,
// addresses, default route) and the host end on the same bridge; the source
// takes its host end down while the container is frozen (up again if the
// migration fails) and deletes it once the target has committed. The target
// announces the move with gratuitous ARP once it runs (garp.go).

// wireNet is the network identity sent in the hello.
type wireNet struct {
	Netns  string      `json:"netns"` // path of the named network namespace
	Ifaces []wireIface `json:"ifaces"`
}

// wireIface is one veth of the container.
type wireIface struct {
	Name     string   `json:"name"`
	MAC      string   `json:"mac"`
	MTU      int      `json:"mtu"`
	Addrs    []string `json:"addrs"` // CIDR
	Gateway  string   `json:"gateway,omitempty"`
	HostName string   `json:"host_name"` // the host end
	Bridge   string   `json:"bridge"`    // the host end's master
}

// namedNetns is the path of the spec's network namespace if it is a named
// one (/run/netns/NAME, /var/run/netns/NAME), else "".
func namedNetns(s *specs.Spec) string {
	if s == nil || s.Linux == nil {
		return ""
	}
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace && ns.Path != "" {
			if d := filepath.Dir(ns.Path); d == "/run/netns" || d == "/var/run/netns" {
				return ns.Path
			}
		}
	}
	return ""
}

// readNetIdentity reads the veths of the namespace at path and their host
// ends (in this process's namespace). nil: nothing to move.
func readNetIdentity(path string) (*wireNet, error) {
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("network namespace %s: %w", path, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		return nil, err
	}
	id := &wireNet{Netns: path}
	for _, l := range links {
		if l.Type() != "veth" {
			continue
		}
		a := l.Attrs()
		hostEnd, err := netlink.LinkByIndex(a.ParentIndex)
		if err != nil {
			return nil, fmt.Errorf("the host end of %s in %s: %w", a.Name, path, err)
		}
		bridge, err := netlink.LinkByIndex(hostEnd.Attrs().MasterIndex)
		if hostEnd.Attrs().MasterIndex == 0 || err != nil {
			return nil, fmt.Errorf("the host end %s of %s is on no bridge: only bridged veths move", hostEnd.Attrs().Name, a.Name)
		}
		ifc := wireIface{Name: a.Name, MAC: a.HardwareAddr.String(), MTU: a.MTU,
			HostName: hostEnd.Attrs().Name, Bridge: bridge.Attrs().Name}
		addrs, err := h.AddrList(l, netlink.FAMILY_V4)
		if err != nil {
			return nil, err
		}
		for _, ad := range addrs {
			ifc.Addrs = append(ifc.Addrs, ad.IPNet.String())
		}
		routes, _ := h.RouteList(l, netlink.FAMILY_V4)
		for _, r := range routes {
			if r.Dst == nil && r.Gw != nil {
				ifc.Gateway = r.Gw.String()
			}
		}
		id.Ifaces = append(id.Ifaces, ifc)
	}
	if len(id.Ifaces) == 0 {
		return nil, nil
	}
	return id, nil
}

// checkNetIdentity tells whether this host can take the identity: the
// namespace path free, every bridge present, no host end name taken.
func checkNetIdentity(id *wireNet) error {
	if _, err := os.Stat(id.Netns); err == nil {
		return fmt.Errorf("the network namespace %s already exists on the target: remove it, or let the container's network be set up by the migration", id.Netns)
	}
	for _, ifc := range id.Ifaces {
		br, err := netlink.LinkByName(ifc.Bridge)
		if err != nil || br.Type() != "bridge" {
			return fmt.Errorf("the target has no bridge %s for the container's %s (%s): create it on the same L2 segment as the source's", ifc.Bridge, ifc.Name, strings.Join(ifc.Addrs, ", "))
		}
		if _, err := netlink.LinkByName(ifc.HostName); err == nil {
			return fmt.Errorf("the target already has an interface %s (the host end of the container's %s)", ifc.HostName, ifc.Name)
		}
	}
	return nil
}

// makeNetIdentity creates the namespace and the veths on this host, their
// host ends down until the container runs: a frame from the new namespace
// (IPv6 DAD, an ARP) would teach the switch the container's MAC on this port
// before its sockets exist, and its kernel would answer a client's next
// segment with a reset. undo removes them.
func makeNetIdentity(id *wireNet) (undo func(), err error) {
	name := filepath.Base(id.Netns)
	ns, err := newNamedNetns(name)
	if err != nil {
		return nil, fmt.Errorf("create the network namespace %s: %w", id.Netns, err)
	}
	defer ns.Close()
	undo = func() {
		for _, ifc := range id.Ifaces {
			if l, err := netlink.LinkByName(ifc.HostName); err == nil {
				_ = netlink.LinkDel(l)
			}
		}
		_ = netns.DeleteNamed(name)
	}
	if err := addVeths(ns, id.Ifaces); err != nil {
		undo()
		return nil, err
	}
	return undo, nil
}

// newNamedNetns makes /run/netns/NAME (as `ip netns add`) on a thread of its
// own, which dies rather than go back to the pool in the wrong namespace.
func newNamedNetns(name string) (netns.NsHandle, error) {
	type result struct {
		ns  netns.NsHandle
		err error
	}
	ch := make(chan result, 1)
	go func() {
		goruntime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			ch <- result{netns.None(), err}
			return // the thread ends with the goroutine: it is locked
		}
		defer orig.Close()
		ns, err := netns.NewNamed(name)
		if serr := netns.Set(orig); serr != nil {
			ch <- result{ns, errors.Join(err, serr)}
			return
		}
		goruntime.UnlockOSThread()
		ch <- result{ns, err}
	}()
	r := <-ch
	return r.ns, r.err
}

func addVeths(ns netns.NsHandle, ifaces []wireIface) error {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	if lo, err := h.LinkByName("lo"); err == nil {
		_ = h.LinkSetUp(lo)
	}
	for _, ifc := range ifaces {
		mac, err := net.ParseMAC(ifc.MAC)
		if err != nil {
			return err
		}
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: ifc.HostName, MTU: ifc.MTU},
			PeerName: ifc.Name, PeerHardwareAddr: mac, PeerNamespace: netlink.NsFd(ns)}
		if err := netlink.LinkAdd(veth); err != nil {
			return fmt.Errorf("create the veth %s/%s: %w", ifc.HostName, ifc.Name, err)
		}
		if err := plugHostEnd(ifc); err != nil {
			return err
		}
		l, err := h.LinkByName(ifc.Name)
		if err != nil {
			return err
		}
		for _, a := range ifc.Addrs {
			ad, err := netlink.ParseAddr(a)
			if err != nil {
				return err
			}
			if err := h.AddrAdd(l, ad); err != nil {
				return fmt.Errorf("address %s on %s: %w", a, ifc.Name, err)
			}
		}
		if err := h.LinkSetUp(l); err != nil {
			return err
		}
		if ifc.Gateway != "" {
			if err := h.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Gw: net.ParseIP(ifc.Gateway)}); err != nil {
				return fmt.Errorf("default route via %s: %w", ifc.Gateway, err)
			}
		}
	}
	return nil
}

func plugHostEnd(ifc wireIface) error {
	host, err := netlink.LinkByName(ifc.HostName)
	if err != nil {
		return err
	}
	br, err := netlink.LinkByName(ifc.Bridge)
	if err != nil {
		return err
	}
	if err := netlink.LinkSetMaster(host, br); err != nil {
		return fmt.Errorf("plug %s into %s: %w", ifc.HostName, ifc.Bridge, err)
	}
	return nil // up once the container runs (setHostEnds)
}

// setHostEnds takes the host ends up or down (the source while frozen).
func setHostEnds(id *wireNet, up bool) error {
	if id == nil {
		return nil
	}
	var errs []error
	for _, ifc := range id.Ifaces {
		l, err := netlink.LinkByName(ifc.HostName)
		if err == nil {
			if up {
				err = netlink.LinkSetUp(l)
			} else {
				err = netlink.LinkSetDown(l)
			}
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// deleteHostEnds removes the source's veths once the target has the identity.
func deleteHostEnds(id *wireNet) error {
	if id == nil {
		return nil
	}
	var errs []error
	for _, ifc := range id.Ifaces {
		if l, err := netlink.LinkByName(ifc.HostName); err == nil {
			errs = append(errs, netlink.LinkDel(l))
		}
	}
	return errors.Join(errs...)
}
