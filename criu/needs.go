package criu

import "github.com/mycr/mycr/criu/host"

// Host features a checkpoint can need at restore (host.Has answers).
const (
	NeedUffd      = host.Uffd
	NeedTCPRepair = host.TCPRepair
)

// Need is a host feature the restore of a checkpoint requires, and why.
type Need struct {
	Feature string
	Why     string // what in the checkpoint needs it
	Fix     string // what the user can do where it is missing
}

// Needs lists the host features restoring the checkpoint m describes requires
// beyond a plain restore.
func (m *Meta) Needs() []Need {
	var out []Need
	if m.LazyPages {
		out = append(out, Need{NeedUffd, "it was dumped with lazy pages (its memory is served on demand)",
			host.UffdFix + ", or checkpoint again without lazy pages"})
	}
	if m.TCPEstablished {
		out = append(out, Need{NeedTCPRepair, "it holds established TCP connections (--tcp-established)",
			"restore as root with CAP_NET_ADMIN on a kernel with TCP_REPAIR, or checkpoint again without --tcp-established (the connections are then lost)"})
	}
	return out
}
