// Command netprog is the integration tests' TCP workload, copied into a container
// as /bin/netprog (built statically by TestMain).
//
// Default mode: an echo server listening on -addr and, in the same process, ONE
// client connection to it that sends "ping N" every -interval, checks the echo, and
// appends N (the reply count) as a line to -out. Each ping also makes a round trip
// over a pair of UDP sockets on loopback, so a checkpoint holds a listening TCP
// socket, an established TCP connection and UDP sockets. The connection is never redialed:
// if it breaks, netprog appends "ERR: ..." to -out and exits 1, so a test sees a
// connection that did not survive checkpoint/restore.
//
// Probe mode (-probe ADDR): dial ADDR once, send a line, check the echo, print
// "probe ok" and exit 0 (used through `exec` to show the listener still accepts).
//
// Client mode (-connect ADDR): no server; ONE connection to ADDR, pinged and
// checked as in the default mode (the two-host tests' client outside the container).
//
// Lock mode (-lock PATH): no network; take an exclusive flock on PATH, hold it for
// life, and append a count to -out every -interval (the --file-locks test).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:7777", "listen address of the echo server")
	out := flag.String("out", "/out/replies", "file the reply count is appended to")
	interval := flag.Duration("interval", 100*time.Millisecond, "time between pings")
	probe := flag.String("probe", "", "dial this address once, check the echo and exit")
	lock := flag.String("lock", "", "hold an exclusive flock on this file and count (no network)")
	connect := flag.String("connect", "", "client only: dial this address once and ping it every -interval")
	flag.Parse()

	if *connect != "" {
		var d net.Dialer
		d.SetMultipathTCP(false)
		conn, err := d.Dial("tcp", *connect)
		if err != nil {
			fail(*out, "dial: %v", err)
		}
		pingForever(conn, *out, *interval, nil, nil)
		return
	}

	if *lock != "" {
		holdLockAndCount(*lock, *out, *interval)
		return
	}

	if *probe != "" {
		if err := probeOnce(*probe); err != nil {
			fmt.Fprintln(os.Stderr, "probe failed:", err)
			os.Exit(1)
		}
		fmt.Println("probe ok")
		return
	}

	// Plain TCP: Go listens with MPTCP by default, and CRIU cannot dump MPTCP sockets.
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	ln, err := lc.Listen(context.Background(), "tcp", *addr)
	if err != nil {
		fail(*out, "listen: %v", err)
	}
	go serve(ln)

	var d net.Dialer
	d.SetMultipathTCP(false)
	conn, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		fail(*out, "dial: %v", err)
	}
	udpEcho, udpClient := udpPair(*out)
	fmt.Printf("listening on %s, client %s, udp %s\n", ln.Addr(), conn.LocalAddr(), udpEcho.LocalAddr())
	pingForever(conn, *out, *interval, udpEcho, udpClient)
}

// pingForever sends "ping N" on conn every interval, checks each echo (and a
// UDP round trip if udpEcho is set) and appends N to out; it exits on an error.
func pingForever(conn net.Conn, out string, interval time.Duration, udpEcho, udpClient *net.UDPConn) {
	r := bufio.NewReader(conn)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for n := 1; ; n++ {
		<-tick.C
		msg := fmt.Sprintf("ping %d\n", n)
		if _, err := io.WriteString(conn, msg); err != nil {
			fail(out, "write ping %d: %v", n, err)
		}
		got, err := r.ReadString('\n')
		if err != nil {
			fail(out, "read echo of ping %d: %v", n, err)
		}
		if got != msg {
			fail(out, "echo of ping %d was %q", n, got)
		}
		if udpEcho != nil {
			if err := udpRoundTrip(udpEcho, udpClient, msg); err != nil {
				fail(out, "udp ping %d: %v", n, err)
			}
		}
		if err := appendLine(out, fmt.Sprint(n)); err != nil {
			fmt.Fprintln(os.Stderr, "netprog:", err)
			os.Exit(2)
		}
	}
}

// serve echoes every connection back to itself.
func serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			io.Copy(c, c)
		}()
	}
}

func probeOnce(addr string) error {
	d := net.Dialer{Timeout: 5 * time.Second}
	d.SetMultipathTCP(false)
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "probe\n"); err != nil {
		return err
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if got != "probe\n" {
		return fmt.Errorf("echo was %q", got)
	}
	return nil
}

// lockFile stays referenced so the garbage collector never closes it (and drops the lock).
var lockFile *os.File

func holdLockAndCount(lock, out string, interval time.Duration) {
	f, err := os.OpenFile(lock, os.O_RDWR|os.O_CREATE, 0o644)
	lockFile = f
	if err != nil {
		fail(out, "open lock: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		fail(out, "flock %s: %v", lock, err)
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for n := 1; ; n++ {
		<-tick.C
		if err := appendLine(out, fmt.Sprint(n)); err != nil {
			fmt.Fprintln(os.Stderr, "netprog:", err)
			os.Exit(2)
		}
	}
}

// appendLine opens, appends and closes, so no descriptor of the file is held.
func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(line + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func fail(out, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintln(os.Stderr, "netprog:", msg)
	appendLine(out, "ERR: "+msg)
	os.Exit(1)
}

// udpPair binds a UDP echo socket on loopback and a client connected to it.
func udpPair(out string) (*net.UDPConn, *net.UDPConn) {
	echo, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		fail(out, "udp listen: %v", err)
	}
	client, err := net.DialUDP("udp", nil, echo.LocalAddr().(*net.UDPAddr))
	if err != nil {
		fail(out, "udp dial: %v", err)
	}
	return echo, client
}

// udpRoundTrip sends msg from client to echo and back.
func udpRoundTrip(echo, client *net.UDPConn, msg string) error {
	deadline := time.Now().Add(5 * time.Second)
	echo.SetDeadline(deadline)
	client.SetDeadline(deadline)
	if _, err := client.Write([]byte(msg)); err != nil {
		return err
	}
	buf := make([]byte, 64)
	n, from, err := echo.ReadFromUDP(buf)
	if err != nil {
		return err
	}
	if _, err := echo.WriteToUDP(buf[:n], from); err != nil {
		return err
	}
	if n, err = client.Read(buf); err != nil {
		return err
	}
	if string(buf[:n]) != msg {
		return fmt.Errorf("udp echo was %q", buf[:n])
	}
	return nil
}
