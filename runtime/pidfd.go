package runtime

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"
)

// pidfdSocket connects the process to the unix socket at path (create, run and exec
// --pidfd-socket, as runc 1.2+): libcontainer's init in the container then sends a
// pidfd of the container's process over it (SCM_RIGHTS), so that whoever listens
// can signal and wait for that process without racing pid reuse. The returned func
// closes mycr's end once the process has started.
func pidfdSocket(p *libcontainer.Process, path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	// pidfds came with Linux 5.3: probe the call rather than parse the kernel version.
	fd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		if errors.Is(err, unix.ENOSYS) {
			return nil, fmt.Errorf("--pidfd-socket needs pidfd_open (Linux 5.3 or later): %w", err)
		}
		return nil, fmt.Errorf("--pidfd-socket: pidfd_open: %w", err)
	}
	_ = unix.Close(fd)
	conn, err := net.Dial("unix", path)
	if err != nil {
		return nil, fmt.Errorf("--pidfd-socket %s: connect: %w (is something listening there?)", path, err)
	}
	f, err := conn.(*net.UnixConn).File() // a dup that the init inherits
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("--pidfd-socket %s: %w", path, err)
	}
	p.PidfdSocket = f
	return func() {
		f.Close()
		conn.Close()
	}, nil
}
