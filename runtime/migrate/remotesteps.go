package migrate

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mycr/mycr/criu"
)

// remoteRun is one migration to another host: the source side of the stream.
type remoteRun struct {
	m         *migration
	rm        Remote
	link      *sshLink
	d         *demux
	tun       *tunnel
	relayAddr string
	prefetch  bool     // the target takes prefetched pages
	net       *wireNet // the container's network identity, moved with it (nil: none)
}

// hello opens the stream and has the target check it can restore the container.
func (x *remoteRun) hello(mode string) error {
	m := x.m
	meta := criu.NewMeta(m.o.ID, m.srcBundle, m.r.CriuVersion())
	meta.TCPEstablished, meta.LazyPages = m.o.Criu.TcpEstablished, mode == Lazy
	mb, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	h := wireHello{Version: wireVersion, ID: m.o.ID, TargetID: m.o.TargetID, Bundle: m.o.Bundle,
		RemapMounts: m.o.RemapMounts, Mode: mode, Meta: mb, Stdio: x.rm.Stdio, PidFile: x.rm.PidFile, Criu: criuToWire(m.o.Criu), Net: x.net}
	if m.rep.Channel, err = x.link.goDirect(x.rm.Channel, m.notify); err != nil {
		return fmt.Errorf("cannot reach %s: %w (the container was not touched)", x.rm.URL, x.link.explain(err))
	}
	logrus.Debugf("the stream to %s runs over %s, %v after the start", x.rm.URL, m.rep.Channel, time.Since(m.start))
	if err := x.link.w.SendJSON(frameHello, h); err != nil {
		return fmt.Errorf("cannot reach %s: %w (the container was not touched)", x.rm.URL, x.link.explain(linkLost(err)))
	}
	x.tun = &tunnel{w: x.link.w, up: framePagesDown, dial: func() (net.Conn, error) {
		return net.DialTimeout("tcp", x.relayAddr, 10*time.Second)
	}}
	x.d = startDemux(x.link.w, func(_ byte, b []byte) { x.tun.deliver(b) })
	var rep wireReply
	if err := x.d.expect(frameChecked, &rep); err != nil {
		return fmt.Errorf("the target %s did not answer: %w (the container was not touched)", x.rm.URL, x.link.explain(err))
	}
	if !rep.OK {
		return fmt.Errorf("the target %s refuses the migration: %s (the container was not touched)", x.rm.URL, rep.Error)
	}
	logrus.Debugf("the target checked the migration, %v after the start", time.Since(m.start))
	m.rep.TargetImages = rep.ImageDir
	x.prefetch = rep.Prefetch
	m.notify("the target %s (%s) can restore %s; migrating (%s)", x.rm.URL, rep.Host, m.o.ID, mode)
	return nil
}

// sendImages streams the dumped images (not logs, not mycr's CRIU config,
// not the one already streamed: skip) to the target.
func (x *remoteRun) sendImages(skip string) error {
	ents, err := os.ReadDir(x.m.srcDir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasSuffix(name, ".log") || name == "mycr-criu.conf" || name == skip {
			continue
		}
		n, err := sendFile(x.link.w, filepath.Join(x.m.srcDir, name))
		x.m.rep.ImageBytes += n
		if err != nil {
			return fmt.Errorf("sending the images: %w", err)
		}
	}
	return nil
}

// restoreThere asks the target to restore and waits for it to run.
func (x *remoteRun) restoreThere(lazy bool) error {
	if err := x.link.w.SendJSON(frameRestore, wireRestore{Lazy: lazy}); err != nil {
		return linkLost(err)
	}
	var rep wireReply
	if err := x.d.expect(frameRestored, &rep); err != nil {
		return err
	}
	x.m.restoredAt = time.Now()
	x.m.rep.TargetPid, x.m.rep.CriuRestoreMs = rep.Pid, rep.RestoreMs
	return nil
}

// commit makes the target the container: it keeps running once it has read
// the commit. A link lost before its answer counts as not committed (the
// source resumes); see docs/portable.md for the window where both could run.
func (x *remoteRun) commit() error {
	if err := x.link.w.Send(frameCommit, nil); err != nil {
		return linkLost(err)
	}
	return x.d.expect(frameCommitted, nil)
}

// abortTarget tells the target to destroy what it made (best effort: a lost
// link does the same there).
func (x *remoteRun) abortTarget(cause error) {
	_ = x.link.w.SendJSON(frameAbort, wireReply{Error: "aborted by the source: " + cause.Error()})
}

// quiesceNet takes the source's host ends down while it is frozen: from now
// on the container's address answers from the target only.
func (x *remoteRun) quiesceNet() {
	if err := setHostEnds(x.net, false); err != nil {
		x.m.notify("cannot take the container's network down on the source: %v", err)
	}
}

// restoreNet brings the source's host ends back up (the source runs again).
func (x *remoteRun) restoreNet() {
	if err := setHostEnds(x.net, true); err != nil {
		x.m.notify("cannot bring the container's network back up on the source: %v; its address does not answer", err)
	}
}

// dropNet deletes the source's host ends: the identity lives on the target now.
func (x *remoteRun) dropNet() {
	if err := deleteHostEnds(x.net); err != nil {
		x.m.notify("cannot delete the container's old veth on the source: %v", err)
	}
}
