package migrate

import (
	"fmt"
	"time"
)

// Heartbeats. A link that dies silently (a cable pulled, a route gone) ends
// no stream: TCP retransmits for many minutes, and the target's sshd does
// not probe its client. So while a demux runs, its side sends frameAlive
// every aliveEvery, and gives the stream up as lost once nothing at all
// (not even part of a frame) arrived for aliveTimeout: before the commit the
// source then resumes and the target destroys what it made, as for a killed
// session. (The source's ssh sees it too, after 3 keepalives of 5 s.)
const frameAlive = 21

var ( // variables for the tests
	aliveEvery   = 3 * time.Second
	aliveTimeout = 20 * time.Second
)

// idle is how long nothing arrived on the wire.
func (w *wire) idle() time.Duration {
	return time.Since(time.Unix(0, w.lastRead.Load()))
}

// sendAlive sends heartbeats until the returned stop is called or a send fails.
func (w *wire) sendAlive() (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(aliveEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if w.Send(frameAlive, nil) != nil {
					return
				}
			}
		}
	}()
	return func() { close(done) }
}

// silentFor is the error of a stream given up for silence.
func silentFor(d time.Duration) error {
	return fmt.Errorf("%w (nothing arrived from the other host for %s)", errLinkLost, d.Round(time.Second))
}
