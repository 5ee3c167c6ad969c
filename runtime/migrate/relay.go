package migrate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// CRIU's page server protocol, as spoken between `criu lazy-pages` and the page
// server of a lazy dump (criu/page-xfer.c, CRIU 4.x): the client sends fixed-size
// struct page_server_iov records {u32 cmd; u64 nr_pages; u64 vaddr; u64 dst_id}
// (32 bytes with the padding after cmd on 64-bit), only GET and finally CLOSE,
// and the server answers each GET with a record followed by the pages, and a
// CLOSE with a 4-byte status.
const (
	psIOVSize       = 32
	psCmdMask       = 0xffff
	psIOVGet        = 7
	psIOVClose      = 0x1023
	psIOVForceClose = 0x1024
	psIOVInvalid    = 0xdead // any unknown command makes the page server fail
)

// pageRelay stands between the target's lazy-pages daemon and the source's
// page server and decides how the dump ends. CRIU's lazy page server takes any
// end of its connection, even a plain EOF from a client that failed, as "every
// page moved" and then kills the source. So the relay answers the daemon's
// CLOSE itself and hands a CLOSE to the page server only on commit, once mycr
// knows the target has everything; abort sends an unknown command and resets
// the connection, and CRIU resumes the source. The connection to the page
// server is opened as soon as the dump is ready, with SO_LINGER 0, so that if
// mycr dies at any point before the commit the kernel resets it: the dump then
// fails and the source resumes instead of waiting forever or being killed.
type pageRelay struct {
	ln        net.Listener
	dump      *net.TCPConn
	pageBytes atomic.Int64 // page server -> daemon
	gets      atomic.Int64 // page requests relayed (GET), for the debug log
	getPages  atomic.Int64 // pages they asked for
	ended     chan error   // the daemon side is over: nil after its CLOSE
	downDone  chan struct{}

	mu       sync.Mutex
	client   net.Conn
	closing  bool   // the daemon sent CLOSE: server bytes are not for it any more
	tail     []byte // server bytes after that (the answer to our CLOSE)
	tailSeen chan struct{}
	finished bool
}

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
		tailSeen: make(chan struct{}, 1)}
	go p.serve()
	return p, nil
}

// serve accepts the one daemon connection and relays it.
func (p *pageRelay) serve() {
	conn, err := p.ln.Accept()
	p.ln.Close()
	if err != nil {
		go p.down(nil)
		p.ended <- fmt.Errorf("no lazy-pages daemon connected: %w", err)
		return
	}
	p.mu.Lock()
	if p.finished {
		p.mu.Unlock()
		conn.Close()
		go p.down(nil)
		p.ended <- errors.New("aborted")
		return
	}
	p.client = conn
	p.mu.Unlock()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	go p.down(conn)
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
			if _, err := p.dump.Write(buf); err != nil {
				return fmt.Errorf("page server: %w", err)
			}
		default:
			return fmt.Errorf("unexpected page server command %#x from the lazy-pages daemon (CRIU protocol changed?)", cmd)
		}
	}
}

// down copies the page server's answers to the daemon, counting them.
func (p *pageRelay) down(client net.Conn) {
	defer close(p.downDone)
	buf := make([]byte, 256<<10)
	clientOK := client != nil
	for {
		n, err := p.dump.Read(buf)
		if n > 0 {
			p.mu.Lock()
			closing := p.closing
			if closing {
				p.tail = append(p.tail, buf[:n]...)
				select {
				case p.tailSeen <- struct{}{}:
				default:
				}
			}
			p.mu.Unlock()
			if !closing && clientOK {
				if _, werr := client.Write(buf[:n]); werr != nil {
					clientOK = false // the daemon is gone; up() reports it
				} else {
					p.pageBytes.Add(int64(n))
				}
			}
		}
		if err != nil {
			return
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
	msg := make([]byte, psIOVSize)
	binary.LittleEndian.PutUint32(msg, psIOVClose)
	if _, err := p.dump.Write(msg); err != nil {
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
