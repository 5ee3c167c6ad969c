package main

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// inNetns runs fn on an OS thread that has joined the network namespace of pid.
// The thread is never unlocked, so it dies with the goroutine and no other
// goroutine ever runs in that namespace. Sockets fn creates with raw syscalls
// belong to that namespace: the bench talks to a container's loopback without
// exec'ing anything into the container.
func inNetns(pid int, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
		if err != nil {
			errc <- err
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// loopbackState says whether lo is up with 127.0.0.1 in pid's network namespace.
func loopbackState(pid int) (string, error) {
	var state string
	err := inNetns(pid, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		ifr, err := unix.NewIfreq("lo")
		if err != nil {
			return err
		}
		if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
			return err
		}
		up := ifr.Uint16()&unix.IFF_UP != 0
		addr := "no address"
		if err := unix.IoctlIfreq(fd, unix.SIOCGIFADDR, ifr); err == nil {
			if ip, err := ifr.Inet4Addr(); err == nil {
				addr = net.IP(ip).String()
			}
		}
		if up {
			state = "UP, " + addr
		} else {
			state = "DOWN, " + addr
		}
		return nil
	})
	return state, err
}

// ask connects to 127.0.0.1:port in the current thread's namespace, sends
// line and returns the reply line.
func ask(port int, line string, timeout time.Duration) (string, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	tv := unix.NsecToTimeval(timeout.Nanoseconds())
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return "", err
	}
	if _, err := unix.Write(fd, []byte(line+"\n")); err != nil {
		return "", err
	}
	var out []byte
	buf := make([]byte, 512)
	for !strings.Contains(string(out), "\n") {
		n, err := unix.Read(fd, buf)
		if err != nil {
			return "", err
		}
		if n == 0 {
			break
		}
		out = append(out, buf[:n]...)
	}
	return strings.TrimSpace(string(out)), nil
}

// firstAnswer polls 127.0.0.1:port inside pid's network namespace until the
// service answers line, and returns the answer and when it came.
func firstAnswer(pid, port int, line string, limit time.Duration) (string, time.Time, error) {
	var answer string
	var at time.Time
	err := inNetns(pid, func() error {
		start := time.Now()
		deadline := start.Add(limit)
		for {
			a, err := ask(port, line, 2*time.Second)
			if err == nil && a != "" {
				answer, at = a, time.Now()
				return nil
			}
			// No route to 127.0.0.1 at all: lo is down in this namespace and nothing
			// inside the container will bring it up.
			if err == unix.ENETUNREACH && time.Since(start) > 3*time.Second {
				return fmt.Errorf("127.0.0.1 is unreachable in the container's network namespace (loopback down)")
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("no answer on 127.0.0.1:%d within %v (last: %v)", port, limit, err)
			}
			if unix.Kill(pid, 0) != nil {
				return fmt.Errorf("the container's process %d is gone", pid)
			}
			time.Sleep(2 * time.Millisecond)
		}
	})
	return answer, at, err
}
