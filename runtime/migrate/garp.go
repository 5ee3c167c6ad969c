package migrate

import (
	"encoding/binary"
	"net"
	goruntime "runtime"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// announce sends gratuitous ARP for every IPv4 address of the container's
// interfaces, from inside its namespace: switches learn the MAC's new port
// and neighbours refresh their caches at once (the MAC moved with the
// container, so caches are right already; the switch ports are not).
func announce(id *wireNet) error {
	if id == nil {
		return nil
	}
	ns, err := netns.GetFromPath(id.Netns)
	if err != nil {
		return err
	}
	defer ns.Close()
	fd, err := packetSocketIn(ns)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	for round := 0; round < 3; round++ {
		for _, ifc := range id.Ifaces {
			l, err := h.LinkByName(ifc.Name)
			if err != nil {
				return err
			}
			for _, a := range ifc.Addrs {
				ip, _, err := net.ParseCIDR(a)
				if err != nil || ip.To4() == nil {
					continue
				}
				frame := garpFrame(l.Attrs().HardwareAddr, ip.To4())
				to := &unix.SockaddrLinklayer{Ifindex: l.Attrs().Index, Protocol: htons(unix.ETH_P_ARP), Halen: 6}
				copy(to.Addr[:], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
				if err := unix.Sendto(fd, frame, 0, to); err != nil {
					return err
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// packetSocketIn opens a raw ARP packet socket in ns (a socket keeps the
// namespace it was made in).
func packetSocketIn(ns netns.NsHandle) (int, error) {
	type result struct {
		fd  int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		goruntime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			ch <- result{-1, err}
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			ch <- result{-1, err}
			return
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ARP)))
		if serr := netns.Set(orig); serr != nil {
			if fd >= 0 {
				unix.Close(fd)
			}
			ch <- result{-1, serr} // the thread stays locked and dies with us
			return
		}
		goruntime.UnlockOSThread()
		ch <- result{fd, err}
	}()
	r := <-ch
	return r.fd, r.err
}

// garpFrame is an Ethernet broadcast ARP request for ip from mac to itself.
func garpFrame(mac net.HardwareAddr, ip net.IP) []byte {
	f := make([]byte, 42)
	copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	copy(f[6:12], mac)
	binary.BigEndian.PutUint16(f[12:], unix.ETH_P_ARP)
	arp := f[14:]
	binary.BigEndian.PutUint16(arp[0:], 1)      // Ethernet
	binary.BigEndian.PutUint16(arp[2:], 0x0800) // IPv4
	arp[4], arp[5] = 6, 4
	binary.BigEndian.PutUint16(arp[6:], 1) // request
	copy(arp[8:14], mac)
	copy(arp[14:18], ip)
	copy(arp[24:28], ip) // target IP = sender IP; target MAC zero
	return f
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
