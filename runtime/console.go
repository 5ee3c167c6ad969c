package runtime

import (
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/containerd/console"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/utils"
	"golang.org/x/sys/unix"
)

// hostConsole connects a foreground tty container to the terminal mycr runs in.
type hostConsole struct {
	host      console.Console
	parent    *os.File
	childSock *os.File
	master    console.Console
	done      chan struct{}
}

func newHostConsole(p *libcontainer.Process) (*hostConsole, error) {
	var host console.Console
	for _, f := range []*os.File{os.Stderr, os.Stdout, os.Stdin} {
		if c, err := console.ConsoleFromFile(f); err == nil {
			host = c
			break
		}
	}
	if host == nil {
		// All three redirected (as runc): the controlling terminal, if there is one.
		tty, err := os.Open("/dev/tty")
		if err != nil {
			return nil, fmt.Errorf("process.terminal is true but mycr has no terminal (%v): run with -d and --console-socket, or set terminal to false", err)
		}
		if host, err = console.ConsoleFromFile(tty); err != nil {
			tty.Close()
			return nil, fmt.Errorf("process.terminal is true but /dev/tty is not a terminal: %w", err)
		}
	}
	parent, child, err := utils.NewSockPair("console")
	if err != nil {
		return nil, err
	}
	p.ConsoleSocket = child
	return &hostConsole{host: host, parent: parent, childSock: child, done: make(chan struct{})}, nil
}

// attach receives the pty master and copies between it and the host terminal.
func (h *hostConsole) attach() error {
	f, err := utils.RecvFile(h.parent)
	if err != nil {
		return fmt.Errorf("receive container console: %w", err)
	}
	m, err := console.ConsoleFromFile(f)
	if err != nil {
		return err
	}
	// As runc: the container's "\n" reaches our stdout as is, not as "\r\n".
	if err := console.ClearONLCR(m.Fd()); err != nil {
		return err
	}
	h.master = m
	if err := h.host.SetRaw(); err != nil {
		return err
	}
	h.resize()
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, unix.SIGWINCH)
	go func() {
		for range winch {
			h.resize()
		}
	}()
	go func() { _, _ = io.Copy(m, os.Stdin) }()
	go func() {
		_, _ = io.Copy(os.Stdout, m)
		close(h.done)
	}()
	return nil
}

func (h *hostConsole) resize() {
	if ws, err := h.host.Size(); err == nil && h.master != nil {
		_ = h.master.Resize(ws)
	}
}

func (h *hostConsole) close() {
	if h.master != nil {
		<-h.done
		_ = h.master.Close()
	}
	_ = h.host.Reset()
	_ = h.parent.Close()
}
