// Command unixprog is the container program of the external-unix-socket fault
// test: it connects a unix datagram socket to a socket the host bound (a
// resource CRIU dumps only with --ext-unix-sk) and, every interval, counts into
// a file and sends the count over the socket.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"time"
)

func main() {
	sock := flag.String("sock", "/out/sock", "unix datagram socket of the host")
	out := flag.String("out", "/out/count", "file the count is written to")
	interval := flag.Duration("interval", 100*time.Millisecond, "time between counts")
	flag.Parse()
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: *sock, Net: "unixgram"})
	if err != nil {
		log.Fatal(err)
	}
	for i := 1; ; i++ {
		if err := os.WriteFile(*out, []byte(fmt.Sprintln(i)), 0o644); err != nil {
			log.Fatal(err)
		}
		_, _ = conn.Write([]byte(fmt.Sprintln(i))) // the host may be gone: keep counting
		time.Sleep(*interval)
	}
}
