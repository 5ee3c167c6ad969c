package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// netnsHoldsState names what the network namespace of pid holds beyond an up
// loopback with the kernel's own addresses, routes and rules, or "" if nothing.
func netnsHoldsState(pid int) (string, error) {
	if why, err := legacyTables(pid); why != "" || err != nil {
		return why, err
	}
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return "", err
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return "", err
	}
	defer h.Close()
	for _, check := range []func(*netlink.Handle) (string, error){onlyLoUp, onlyLoAddrs, onlyLoRoutes, onlyDefaultRules} {
		if why, err := check(h); why != "" || err != nil {
			return why, err
		}
	}
	return nftTables(ns)
}

// legacyTables: iptables-legacy tables exist in a netns only once used; their
// names are listed per netns under /proc/<pid>/net (absent: module not loaded).
func legacyTables(pid int) (string, error) {
	for _, f := range []string{"ip_tables_names", "ip6_tables_names", "arp_tables_names"} {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, f))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		if names := bytes.Fields(data); len(names) > 0 {
			return fmt.Sprintf("it has %s tables %q", f[:len(f)-len("_tables_names")], names), nil
		}
	}
	return "", nil
}

func onlyLoUp(h *netlink.Handle) (string, error) {
	links, err := h.LinkList()
	if err != nil {
		return "", err
	}
	for _, l := range links {
		a := l.Attrs()
		if a.Name != "lo" {
			return "it has link " + a.Name, nil
		}
		if a.Flags&net.FlagUp == 0 || a.MTU != 65536 {
			return fmt.Sprintf("lo is not as the kernel sets it up (flags %v, mtu %d)", a.Flags, a.MTU), nil
		}
	}
	if len(links) != 1 {
		return "it has no lo", nil
	}
	return "", nil
}

// onlyLoAddrs: 127.0.0.1/8 and (with IPv6) ::1/128, which the kernel adds when lo goes up.
func onlyLoAddrs(h *netlink.Handle) (string, error) {
	addrs, err := h.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return "", err
	}
	v4 := false
	for _, a := range addrs {
		switch s := a.IPNet.String(); s {
		case "127.0.0.1/8":
			v4 = true
		case "::1/128":
		default:
			return "it has address " + s, nil
		}
	}
	if !v4 {
		return "lo lacks 127.0.0.1/8", nil
	}
	return "", nil
}

// onlyLoRoutes: the kernel's routes for lo's addresses (local, broadcast), no others.
func onlyLoRoutes(h *netlink.Handle) (string, error) {
	routes, err := h.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return "", err
	}
	_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
	for _, r := range routes {
		kernelLo := r.Protocol == unix.RTPROT_KERNEL && r.Dst != nil &&
			(loopback.Contains(r.Dst.IP) || r.Dst.IP.Equal(net.IPv6loopback))
		if !kernelLo {
			return "it has route " + r.String(), nil
		}
	}
	return "", nil
}

// onlyDefaultRules: the rules every netns starts with (local, main, default).
func onlyDefaultRules(h *netlink.Handle) (string, error) {
	want := map[int][][2]int{
		netlink.FAMILY_V4: {{0, unix.RT_TABLE_LOCAL}, {32766, unix.RT_TABLE_MAIN}, {32767, unix.RT_TABLE_DEFAULT}},
		netlink.FAMILY_V6: {{0, unix.RT_TABLE_LOCAL}, {32766, unix.RT_TABLE_MAIN}},
	}
	for family, defaults := range want {
		rules, err := h.RuleList(family)
		if err != nil {
			return "", err
		}
		if len(rules) != len(defaults) {
			return fmt.Sprintf("it has %d rules of family %d, not the kernel's %d", len(rules), family, len(defaults)), nil
		}
		for i, r := range rules {
			want := netlink.NewRule()
			want.Family, want.Priority, want.Table = family, defaults[i][0], defaults[i][1]
			want.Protocol = r.Protocol // netlink does not parse the action (Type)
			kernelMade := r.Protocol == unix.RTPROT_UNSPEC || r.Protocol == unix.RTPROT_KERNEL
			if !kernelMade || !reflect.DeepEqual(r, *want) {
				return "it has rule " + r.String(), nil
			}
		}
	}
	return "", nil
}

// nftTables: any nftables table (iptables-nft makes them too) in the netns.
func nftTables(ns netns.NsHandle) (string, error) {
	s, err := nl.GetNetlinkSocketAt(ns, netns.None(), unix.NETLINK_NETFILTER)
	if errors.Is(err, unix.EPROTONOSUPPORT) {
		return "", nil // no nfnetlink in this kernel: no nftables either
	}
	if err != nil {
		return "", err
	}
	defer s.Close()
	req := nl.NewNetlinkRequest(unix.NFNL_SUBSYS_NFTABLES<<8|unix.NFT_MSG_GETTABLE, unix.NLM_F_DUMP)
	req.AddData(&nl.Nfgenmsg{NfgenFamily: unix.AF_UNSPEC, Version: nl.NFNETLINK_V0})
	req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_NETFILTER: {Socket: s}}
	msgs, err := req.Execute(unix.NETLINK_NETFILTER, 0)
	if err != nil {
		return "", fmt.Errorf("list nftables tables: %w", err)
	}
	if len(msgs) > 0 {
		return fmt.Sprintf("it has %d nftables tables", len(msgs)), nil
	}
	return "", nil
}

// netnsHasTCP tells whether pid's network namespace holds a bound TCP socket
// (listening or connected) of anyone's: the "inuse" counts of the netns's
// /proc/net/sockstat and sockstat6 (/proc/net/tcp lists the same sockets but
// walks the whole host's TCP hash: ~2.5 ms here). If it cannot tell, it says yes.
func netnsHasTCP(pid int) bool {
	for _, f := range []struct{ name, key string }{{"sockstat", "TCP:"}, {"sockstat6", "TCP6:"}} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, f.name))
		if errors.Is(err, os.ErrNotExist) && f.name == "sockstat6" {
			continue // no IPv6 in this kernel
		}
		if err != nil {
			return true
		}
		if n, ok := sockstatInuse(string(b), f.key); !ok || n > 0 {
			return true
		}
	}
	return false
}

// sockstatInuse reads N from the line "<key> inuse N ..." of a sockstat file.
func sockstatInuse(sockstat, key string) (int, bool) {
	for _, line := range strings.Split(sockstat, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == key && f[1] == "inuse" {
			n, err := strconv.Atoi(f[2])
			return n, err == nil
		}
	}
	return 0, false
}
