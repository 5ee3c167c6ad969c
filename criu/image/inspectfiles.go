package image

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/checkpoint-restore/go-criu/v7/crit/images/fdinfo"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/fs"
	"golang.org/x/sys/unix"
)

// OpenFile is one file descriptor (or the cwd and root) of a task.
type OpenFile struct {
	PID  uint32 `json:"pid"`
	Fd   string `json:"fd"` // a number, or "cwd" / "root"
	Type string `json:"type"`
	Path string `json:"path"`
	Mode string `json:"mode,omitempty"` // r, w or rw for regular files
	Pos  uint64 `json:"pos,omitempty"`
}

// openFiles lists every task's descriptors, cwd and root, and its sockets.
func openFiles(im *images, procs []Process) ([]OpenFile, []Socket, error) {
	idx, err := fileTable(im)
	if err != nil {
		return nil, nil, err
	}
	var files []OpenFile
	var sockets []Socket
	for _, p := range procs {
		if !p.hasMemory() {
			continue // zombies hold no files
		}
		ids, err := taskIDs(im, p.PID)
		if err != nil {
			return nil, nil, err
		}
		fds, err := decodeAll(im, fmt.Sprintf("fdinfo-%d.img", ids.GetFilesId()), &fdinfo.FdinfoEntry{})
		if err != nil {
			return nil, nil, err
		}
		for _, fd := range fds {
			of := OpenFile{PID: p.PID, Fd: strconv.FormatUint(uint64(fd.GetFd()), 10),
				Type: strings.ToLower(fd.GetType().String()), Path: idx.name(fd.GetId())}
			if f := idx[fd.GetId()]; f != nil {
				if reg := f.GetReg(); reg != nil {
					of.Mode, of.Pos = accessMode(reg.GetFlags()), reg.GetPos()
				}
				if s, ok := describeSocket(f); ok {
					s.PID, s.Fd = p.PID, fd.GetFd()
					sockets = append(sockets, s)
				}
			}
			files = append(files, of)
		}
		fsEntry, err := decodeOne(im, fmt.Sprintf("fs-%d.img", p.PID), &fs.FsEntry{})
		if err != nil {
			return nil, nil, err
		}
		files = append(files, OpenFile{PID: p.PID, Fd: "cwd", Type: "dir", Path: idx.name(fsEntry.GetCwdId())},
			OpenFile{PID: p.PID, Fd: "root", Type: "dir", Path: idx.name(fsEntry.GetRootId())})
	}
	return files, sockets, nil
}

func accessMode(flags uint32) string {
	switch flags & unix.O_ACCMODE {
	case unix.O_WRONLY:
		return "w"
	case unix.O_RDWR:
		return "rw"
	}
	return "r"
}
