package image

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"

	"github.com/checkpoint-restore/go-criu/v7/crit/images/fdinfo"
	"golang.org/x/sys/unix"
)

// Socket is one socket a task holds, with its addresses.
type Socket struct {
	PID      uint32 `json:"pid"`
	Fd       uint32 `json:"fd"`
	Family   string `json:"family"`             // ipv4, ipv6, unix, packet, netlink
	Type     string `json:"type,omitempty"`     // stream, dgram, seqpacket, raw
	Protocol string `json:"protocol,omitempty"` // tcp, udp, ...
	State    string `json:"state,omitempty"`    // LISTEN, ESTABLISHED, ...
	SrcAddr  string `json:"src_addr,omitempty"`
	SrcPort  uint32 `json:"src_port,omitempty"`
	DstAddr  string `json:"dst_addr,omitempty"`
	DstPort  uint32 `json:"dst_port,omitempty"`
	Path     string `json:"path,omitempty"` // unix: bound name, "@..." if abstract
	Inode    uint32 `json:"inode"`
	Peer     uint32 `json:"peer,omitempty"` // unix: the peer's inode
}

// String is the socket as one word, like ss prints it.
func (s Socket) String() string {
	switch s.Family {
	case "ipv4", "ipv6":
		str := fmt.Sprintf("%s %s %s", s.Protocol, s.State, hostPort(s.SrcAddr, s.SrcPort))
		if s.DstPort != 0 {
			str += " -> " + hostPort(s.DstAddr, s.DstPort)
		}
		return str
	case "unix":
		str := fmt.Sprintf("unix %s %s", s.Type, s.State)
		if s.Path != "" {
			str += " " + s.Path
		}
		if s.Peer != 0 {
			str += fmt.Sprintf(" -> [%d]", s.Peer)
		}
		return str + fmt.Sprintf(" [%d]", s.Inode)
	}
	return strings.Join(strings.Fields(fmt.Sprintf("%s %s %s [%d]", s.Family, s.Type, s.Protocol, s.Inode)), " ")
}

func hostPort(addr string, port uint32) string {
	if strings.Contains(addr, ":") {
		return fmt.Sprintf("[%s]:%d", addr, port)
	}
	return fmt.Sprintf("%s:%d", addr, port)
}

// describeSocket tells what a socket file of files.img is; ok is false for
// other files.
func describeSocket(f *fdinfo.FileEntry) (Socket, bool) {
	switch {
	case f.GetIsk() != nil:
		sk := f.GetIsk()
		return Socket{Family: family(sk.GetFamily()), Type: sockType(sk.GetType()), Protocol: ipProto(sk.GetProto()),
			State: tcpStates[sk.GetState()], SrcAddr: ipString(sk.GetSrcAddr()), SrcPort: sk.GetSrcPort(),
			DstAddr: ipString(sk.GetDstAddr()), DstPort: sk.GetDstPort(), Inode: sk.GetIno()}, true
	case f.GetUsk() != nil:
		sk := f.GetUsk()
		name := string(sk.GetName())
		if strings.HasPrefix(name, "\x00") {
			name = "@" + name[1:]
		}
		return Socket{Family: "unix", Type: sockType(sk.GetType()), State: tcpStates[sk.GetState()],
			Path: name, Inode: sk.GetIno(), Peer: sk.GetPeer()}, true
	case f.GetPsk() != nil:
		return Socket{Family: "packet", Type: sockType(f.GetPsk().GetType()), Inode: f.GetPsk().GetId()}, true
	case f.GetNlsk() != nil:
		return Socket{Family: "netlink", Protocol: fmt.Sprintf("proto %d", f.GetNlsk().GetProtocol()), Inode: f.GetNlsk().GetIno()}, true
	}
	return Socket{}, false
}

// tcpStates are the kernel's socket states (include/net/tcp_states.h), which
// CRIU records for TCP, UDP and unix sockets alike.
var tcpStates = map[uint32]string{1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
	6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING", 12: "NEW_SYN_RECV"}

func family(f uint32) string {
	switch f {
	case unix.AF_INET:
		return "ipv4"
	case unix.AF_INET6:
		return "ipv6"
	}
	return fmt.Sprintf("family %d", f)
}

func sockType(t uint32) string {
	switch t {
	case unix.SOCK_STREAM:
		return "stream"
	case unix.SOCK_DGRAM:
		return "dgram"
	case unix.SOCK_SEQPACKET:
		return "seqpacket"
	case unix.SOCK_RAW:
		return "raw"
	}
	return fmt.Sprintf("type %d", t)
}

func ipProto(p uint32) string {
	switch p {
	case unix.IPPROTO_TCP:
		return "tcp"
	case unix.IPPROTO_UDP:
		return "udp"
	case unix.IPPROTO_UDPLITE:
		return "udplite"
	case unix.IPPROTO_ICMP:
		return "icmp"
	case unix.IPPROTO_ICMPV6:
		return "icmpv6"
	case unix.IPPROTO_RAW:
		return "raw"
	}
	return fmt.Sprintf("proto %d", p)
}

// ipString turns CRIU's address words (the in_addr/in6_addr bytes, stored as
// 32-bit words in the dumping host's byte order) into text.
func ipString(words []uint32) string {
	b := make([]byte, 0, 16)
	for _, w := range words {
		b = binary.NativeEndian.AppendUint32(b, w)
	}
	switch len(b) {
	case 4:
		return netip.AddrFrom4([4]byte(b)).String()
	case 16:
		return netip.AddrFrom16([16]byte(b)).String()
	}
	return ""
}
