package integration

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ConsoleSocket is a --console-socket listener: the runtime connects and sends the
// pty master over SCM_RIGHTS.
type ConsoleSocket struct {
	Path string
	ln   *net.UnixListener
	ch   chan consoleMsg
}

type consoleMsg struct {
	f   *os.File
	err error
}

// NewConsoleSocket listens on a fresh socket (under a short directory: socket paths
// are limited to 108 bytes) and accepts one connection in the background.
func NewConsoleSocket(t *testing.T) *ConsoleSocket {
	t.Helper()
	dir, err := os.MkdirTemp("", "mycr-cs-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatalf("console socket: %v", err)
	}
	c := &ConsoleSocket{Path: path, ln: ln, ch: make(chan consoleMsg, 1)}
	t.Cleanup(func() { ln.Close() })
	go c.accept()
	return c
}

func (c *ConsoleSocket) accept() {
	conn, err := c.ln.AcceptUnix()
	if err != nil {
		c.ch <- consoleMsg{err: err}
		return
	}
	defer conn.Close()
	f, err := recvFd(conn)
	c.ch <- consoleMsg{f: f, err: err}
}

// recvFd reads one message and returns the single file descriptor it carries.
func recvFd(conn *net.UnixConn) (*os.File, error) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, fmt.Errorf("reading from console socket: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, fmt.Errorf("console socket control message: %w", err)
	}
	var fds []int
	for _, m := range msgs {
		r, err := unix.ParseUnixRights(&m)
		if err == nil {
			fds = append(fds, r...)
		}
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("console socket: got %d file descriptors, expected 1 (data %q)", len(fds), buf[:n])
	}
	// Non-blocking, so the *os.File uses the poller and read deadlines work.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		return nil, err
	}
	name := strings.TrimRight(string(buf[:n]), "\x00")
	if name == "" {
		name = "pty-master"
	}
	return os.NewFile(uintptr(fds[0]), name), nil
}

// Master waits for the pty master; the test owns (and closes) it.
func (c *ConsoleSocket) Master(t *testing.T, timeout time.Duration) *os.File {
	t.Helper()
	select {
	case m := <-c.ch:
		if m.err != nil {
			t.Fatalf("console socket %s: %v", c.Path, m.err)
		}
		t.Cleanup(func() { m.f.Close() })
		return m.f
	case <-time.After(timeout):
		t.Fatalf("no pty master arrived on console socket %s within %v", c.Path, timeout)
		return nil
	}
}

// ReadUntil reads f until what was read contains want, or fails after timeout.
func ReadUntil(t *testing.T, f *os.File, want string, timeout time.Duration) string {
	t.Helper()
	got, err := readUntil(f, want, timeout)
	if err != nil {
		t.Fatalf("waiting for %q on %s: %v; read so far: %q", want, f.Name(), err, got)
	}
	return got
}

func readUntil(f *os.File, want string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	if err := f.SetReadDeadline(deadline); err != nil {
		return "", fmt.Errorf("set deadline: %w", err)
	}
	defer f.SetReadDeadline(time.Time{})
	var got strings.Builder
	b := make([]byte, 4096)
	for {
		n, err := f.Read(b)
		got.Write(b[:n])
		if strings.Contains(got.String(), want) {
			return got.String(), nil
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				err = fmt.Errorf("timed out after %v", timeout)
			}
			return got.String(), err
		}
	}
}

// WriteAll writes s to f (a pty master), failing the test on error.
func WriteAll(t *testing.T, f *os.File, s string) {
	t.Helper()
	if _, err := f.Write([]byte(s)); err != nil {
		t.Fatalf("writing %q to %s: %v", s, f.Name(), err)
	}
}
