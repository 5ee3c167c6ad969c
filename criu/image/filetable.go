package image

import (
	"fmt"
	"strings"

	"github.com/checkpoint-restore/go-criu/v7/crit/images/fdinfo"
)

// fileIndex is files.img by file id: what every fd, cwd, root and mapped file
// of the dump refers to.
type fileIndex map[uint32]*fdinfo.FileEntry

func fileTable(im *images) (fileIndex, error) {
	if im.files != nil {
		return fileIndex(im.files), nil
	}
	entries, err := decodeAll(im, "files.img", &fdinfo.FileEntry{})
	if err != nil {
		return nil, err
	}
	idx := make(fileIndex, len(entries))
	for _, e := range entries {
		idx[e.GetId()] = e
	}
	im.files = idx
	return idx, nil
}

// name describes file id as ls -l /proc/PID/fd would.
func (idx fileIndex) name(id uint32) string {
	f, ok := idx[id]
	if !ok {
		return fmt.Sprintf("unknown file %d", id)
	}
	switch f.GetType() {
	case fdinfo.FdTypes_REG:
		return f.GetReg().GetName()
	case fdinfo.FdTypes_PIPE:
		return fmt.Sprintf("pipe:[%d]", f.GetPipe().GetPipeId())
	case fdinfo.FdTypes_FIFO:
		return idx.name(f.GetFifo().GetRegfId())
	case fdinfo.FdTypes_TTY:
		if r := f.GetTty().GetRegfId(); r != 0 {
			return idx.name(r)
		}
		return "tty"
	case fdinfo.FdTypes_INETSK, fdinfo.FdTypes_UNIXSK, fdinfo.FdTypes_PACKETSK, fdinfo.FdTypes_NETLINKSK:
		if s, ok := describeSocket(f); ok {
			return s.String()
		}
	case fdinfo.FdTypes_EVENTFD, fdinfo.FdTypes_EVENTPOLL, fdinfo.FdTypes_INOTIFY, fdinfo.FdTypes_FANOTIFY,
		fdinfo.FdTypes_SIGNALFD, fdinfo.FdTypes_TIMERFD:
		return "anon_inode:[" + strings.ToLower(f.GetType().String()) + "]"
	}
	return fmt.Sprintf("%s:[%d]", strings.ToLower(f.GetType().String()), id)
}
