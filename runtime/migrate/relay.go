package migrate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

func newPageRelay(ln net.Listener, dumpAddr string) (*pageRelay, error) {
	conn, err := net.DialTimeout("tcp", dumpAddr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	dump := conn.(*net.TCPConn)
	if err := dump.SetLinger(0); err != nil {
		dump.Close()
		return nil, err
	}
	_ = dump.SetNoDelay(true)
	p := &pageRelay{ln: ln, dump: dump, ended: make(chan error, 1), downDone: make(chan struct{}),
		stop: make(chan struct{}), queue: make(chan int, 1024), tailSeen: make(chan struct{}, 1)}
	go p.down()
	go p.serve()
	return p, nil
}

// serve accepts the one daemon connection and relays it.
func (p *pageRelay) serve() {
	conn, err := p.ln.Accept()
	p.ln.Close()
	if err != nil {
		p.ended <- fmt.Errorf("no lazy-pages daemon connected: %w", err)
		return
	}
	p.mu.Lock()
	if p.finished {
		p.mu.Unlock()
		conn.Close()
		p.ended <- errors.New("aborted")
		return
	}
	p.client = conn
	p.mu.Unlock()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	p.ended <- p.up(conn)
}

// up forwards the daemon's page requests and answers its CLOSE itself.
func (p *pageRelay) up(client net.Conn) error {
	buf := make([]byte, psIOVSize)
	for {
		if _, err := io.ReadFull(client, buf); err != nil {
			return fmt.Errorf("the lazy-pages daemon left without finishing: %w", err)
		}
		switch cmd := binary.LittleEndian.Uint32(buf); {
		case cmd == psIOVClose || cmd == psIOVForceClose:
			p.mu.Lock()
			p.closing = true
			p.mu.Unlock()
			status := make([]byte, 4) // 0: all good, the daemon may exit
			_, err := client.Write(status)
			client.Close()
			if err != nil {
				return fmt.Errorf("answer the lazy-pages daemon's close: %w", err)
			}
			return nil
		case cmd&psCmdMask == psIOVGet:
			p.gets.Add(1)
			p.getPages.Add(int64(binary.LittleEndian.Uint64(buf[8:16])))
			if err := p.request(ansDaemon, buf); err != nil {
				return fmt.Errorf("page server: %w", err)
			}
		default:
			return fmt.Errorf("unexpected page server command %#x from the lazy-pages daemon (CRIU protocol changed?)", cmd)
		}
	}
}

// commit ends the dump well: CLOSE, wait for CRIU's status, then a clean FIN.
// CRIU kills the source once it reads the end of the connection.
func (p *pageRelay) commit() error {
	p.mu.Lock()
	p.finished = true
	closing := p.closing
	p.mu.Unlock()
	if !closing {
		return errors.New("commit before the lazy-pages daemon closed")
	}
	p.pf.wait()
	msg := make([]byte, psIOVSize)
	binary.LittleEndian.PutUint32(msg, psIOVClose)
	if err := p.request(ansClose, msg); err != nil {
		return err
	}
	status, err := p.closeStatus(30 * time.Second)
	if err != nil {
		return err
	}
	if status != 0 {
		return fmt.Errorf("the page server answered the close with status %d", status)
	}
	// CRIU now waits for our side to close (read() == 0): a FIN, not a reset.
	if err := p.dump.SetLinger(-1); err != nil {
		return err
	}
	if err := p.dump.CloseWrite(); err != nil {
		return err
	}
	select {
	case <-p.downDone:
	case <-time.After(30 * time.Second):
	}
	return p.dump.Close()
}

// closeStatus waits for the page server's 4-byte answer to our CLOSE.
func (p *pageRelay) closeStatus(limit time.Duration) (int32, error) {
	deadline := time.After(limit)
	var status []byte
	for len(status) < 4 {
		select {
		case <-p.tailSeen:
			p.mu.Lock()
			status = append([]byte(nil), p.tail...)
			p.mu.Unlock()
		case <-p.downDone:
			return 0, errors.New("the page server closed before answering")
		case <-deadline:
			return 0, errors.New("the page server did not answer the close")
		}
	}
	return int32(binary.LittleEndian.Uint32(status)), nil
}

// abort makes the page server fail, so CRIU resumes the source.
func (p *pageRelay) abort() {
	p.mu.Lock()
	p.finished = true
	client := p.client
	p.mu.Unlock()
	p.stopOnce.Do(func() { close(p.stop) })
	p.ln.Close()
	if client != nil {
		client.Close()
	}
	resetPageServer(p.dump)
}

// abortPageServer aborts a lazy dump whose page server has no client yet.
func abortPageServer(addr string) {
	if addr == "" {
		return
	}
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return // the watchdog kills a dump that waits forever
	}
	resetPageServer(conn.(*net.TCPConn))
}

// resetPageServer sends an unknown command and resets the connection.
func resetPageServer(c *net.TCPConn) {
	msg := make([]byte, psIOVSize)
	binary.LittleEndian.PutUint32(msg, psIOVInvalid)
	_ = c.SetWriteDeadline(time.Now().Add(2 * time.Second))
	_, _ = c.Write(msg)
	_ = c.SetLinger(0)
	_ = c.Close()
}

// startPrefetch streams every page of ranges to sink ahead of the daemon
// (prefetch.go).
func (p *pageRelay) startPrefetch(ranges []pageRange, sink func([]byte) error) {
	p.pf.start(ranges, sink, func(msg []byte) error { return p.request(ansPrefetch, msg) }, p.stop, p.downDone, p.daemonClosed)
}
