package runtime

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"

	"github.com/opencontainers/runc/libcontainer"
)

// IOConfig says where a container process's stdio goes.
type IOConfig struct {
	Terminal      bool
	Detach        bool
	ConsoleSocket string // unix socket that receives the pty master (detached tty)
	// Stdio replaces mycr's own stdin/stdout/stderr for a detached process
	// (a restore into a created container reuses that container's stdio).
	Stdio []*os.File
}

// stdio holds what must be closed once the process started or ended.
type stdio struct {
	afterStart []io.Closer // our copies of the child's ends and the console socket
	copying    sync.WaitGroup
	console    *hostConsole // foreground tty
}

func checkTerminal(cfg IOConfig) error {
	if cfg.Detach && cfg.Terminal && cfg.ConsoleSocket == "" {
		return errors.New("cannot allocate tty if mycr will detach without setting console socket")
	}
	if (!cfg.Detach || !cfg.Terminal) && cfg.ConsoleSocket != "" {
		return errors.New("cannot use console socket if mycr will not detach or allocate tty")
	}
	return nil
}

// setupIO wires p's stdio: a console socket or a host tty for terminals, the
// caller's own fds when detached (daemons hand over pipes this way), and pipes
// copied to our stdio in the foreground (pipes, unlike a host tty, can be checkpointed).
func setupIO(p *libcontainer.Process, c *libcontainer.Container, cfg IOConfig) (*stdio, error) {
	if err := checkTerminal(cfg); err != nil {
		return nil, err
	}
	s := &stdio{}
	if cfg.Terminal {
		p.Stdin, p.Stdout, p.Stderr = nil, nil, nil
		if cfg.Detach {
			sock, err := dialConsoleSocket(cfg.ConsoleSocket)
			if err != nil {
				return nil, err
			}
			p.ConsoleSocket = sock
			s.afterStart = append(s.afterStart, sock)
			return s, nil
		}
		hc, err := newHostConsole(p)
		if err != nil {
			return nil, err
		}
		s.console = hc
		s.afterStart = append(s.afterStart, hc.childSock)
		return s, nil
	}
	if cfg.Detach {
		files := cfg.Stdio
		if files == nil {
			files = []*os.File{os.Stdin, os.Stdout, os.Stderr}
		}
		p.Stdin, p.Stdout, p.Stderr = files[0], files[1], files[2]
		return s, nil
	}
	rootuid, err := c.Config().HostRootUID()
	if err != nil {
		return nil, err
	}
	rootgid, err := c.Config().HostRootGID()
	if err != nil {
		return nil, err
	}
	pipes, err := p.InitializeIO(rootuid, rootgid)
	if err != nil {
		return nil, err
	}
	for _, end := range []any{p.Stdin, p.Stdout, p.Stderr} {
		if cl, ok := end.(io.Closer); ok {
			s.afterStart = append(s.afterStart, cl)
		}
	}
	go func() {
		_, _ = io.Copy(pipes.Stdin, os.Stdin)
		_ = pipes.Stdin.Close()
	}()
	s.copying.Add(2)
	for _, pair := range [][2]any{{os.Stdout, pipes.Stdout}, {os.Stderr, pipes.Stderr}} {
		go func(w io.Writer, r io.ReadCloser) {
			defer s.copying.Done()
			_, _ = io.Copy(w, r)
			_ = r.Close()
		}(pair[0].(io.Writer), pair[1].(io.ReadCloser))
	}
	return s, nil
}

func dialConsoleSocket(path string) (*os.File, error) {
	conn, err := net.Dial("unix", path)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.(*net.UnixConn).File()
}

// started closes our copies of the child's stdio ends and waits for a host tty.
func (s *stdio) started() error {
	var err error
	if s.console != nil {
		err = s.console.attach()
	}
	for _, c := range s.afterStart {
		_ = c.Close()
	}
	s.afterStart = nil
	return err
}

// close waits for output copies to drain and restores the host terminal.
func (s *stdio) close() {
	for _, c := range s.afterStart {
		_ = c.Close()
	}
	s.copying.Wait()
	if s.console != nil {
		s.console.close()
	}
}
