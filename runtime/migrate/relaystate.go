package migrate

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
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
	pageBytes atomic.Int64 // page server -> daemon (and prefetched pages)
	gets      atomic.Int64 // page requests relayed (GET), for the debug log
	getPages  atomic.Int64 // pages they asked for
	ended     chan error   // the daemon side is over: nil after its CLOSE
	downDone  chan struct{}
	stop      chan struct{} // closed by abort
	stopOnce  sync.Once

	// wmu orders the requests written to the page server with the answers
	// they are queued for: CRIU answers one request after the other.
	wmu   sync.Mutex
	queue chan int // ansDaemon, ansPrefetch or ansClose, in request order

	pf prefetch // pages streamed ahead of the daemon (prefetch.go)

	mu       sync.Mutex
	client   net.Conn
	closing  bool   // the daemon sent CLOSE
	tail     []byte // the page server's answer to our CLOSE
	tailSeen chan struct{}
	finished bool
}

// What the next answer of the page server is for.
const (
	ansDaemon   = iota // a GET of the lazy-pages daemon: header and pages go to it
	ansPrefetch        // a GET of the prefetcher: header and pages go to its sink
	ansClose           // our CLOSE at commit: a 4-byte status
)

// request writes one request to the page server and queues what its answer is for.
func (p *pageRelay) request(kind int, msg []byte) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	select {
	case p.queue <- kind:
	case <-p.stop:
		return errors.New("aborted")
	}
	_, err := p.dump.Write(msg)
	return err
}

func (p *pageRelay) daemonClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closing || p.finished
}
