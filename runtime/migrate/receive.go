package migrate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/sirupsen/logrus"

	"github.com/mycr/mycr/criu"
	"github.com/mycr/mycr/runtime"
)

// receiver is the target side of a migration from another host
// (`mycr migrate-receive`, run by the source through ssh).
type receiver struct {
	r       *runtime.Root
	w       *wire
	d       *demux
	hello   wireHello
	dir     string // the target's own image dir
	front   *pageFront
	daemon  *criu.LazyPages
	made    bool   // the target container exists
	netUndo func() // removes the network identity made here
}

// Receive serves one migration on the stream in/out: it checks that this
// host can restore the container (before the source freezes anything),
// receives the images, restores, and keeps the container only once the
// source commits. If the stream ends before the commit, whatever was made
// here is destroyed and the source resumes.
func Receive(r *runtime.Root, in io.Reader, out io.Writer) error {
	w, err := receiveStream(in, out)
	if err != nil {
		return err
	}
	v := &receiver{r: r, w: w}
	v.front = newPageFront(v.w, framePagesUp)
	v.d = startDemux(v.w, func(k byte, b []byte) {
		if k == framePrefetch {
			v.front.store(b)
		} else {
			v.front.deliver(b)
		}
	})
	err = v.run()
	if err != nil {
		v.cleanup()
		_ = v.w.SendJSON(frameError, wireReply{Error: err.Error()})
		return err
	}
	if v.dir != "" {
		os.RemoveAll(v.dir)
	}
	return nil
}

func (v *receiver) run() error {
	if err := v.d.expect(frameHello, &v.hello); err != nil {
		return err
	}
	if err := v.check(); err != nil {
		_ = v.w.SendJSON(frameChecked, wireReply{Error: err.Error()})
		return fmt.Errorf("refused: %w", err)
	}
	host, _ := os.Hostname()
	if err := v.w.SendJSON(frameChecked, wireReply{OK: true, Host: host, ImageDir: v.dir, Prefetch: true}); err != nil {
		return linkLost(err)
	}
	for {
		f, err := v.d.next()
		if err != nil {
			return err
		}
		switch f.kind {
		case frameFile:
			var wf wireFile
			if err := json.Unmarshal(f.data, &wf); err != nil {
				return err
			}
			if _, err := receiveFile(v.d, v.dir, wf); err != nil {
				return fmt.Errorf("receiving images: %w", err)
			}
		case frameLazyStart:
			if err := v.startLazy(); err != nil {
				return err
			}
		case frameRestore:
			var wr wireRestore
			if err := json.Unmarshal(f.data, &wr); err != nil {
				return err
			}
			if err := v.restore(wr.Lazy); err != nil {
				return err
			}
		case frameCommit:
			logrus.Infof("migration of %s committed: it runs here", v.hello.TargetID)
			logrus.Debugf("post-copy on the target: %d requests answered from %d MiB prefetched (%d pages; %d waited for it), %d sent to the source",
				v.front.hits.Load(), v.front.cached.Load()>>20, v.front.hitPages.Load(), v.front.waited.Load(), v.front.misses.Load())
			if v.daemon != nil {
				<-v.daemon.Exited()
			}
			return linkLost0(v.w.Send(frameCommitted, nil))
		default:
			return decodeFrame(f, frameCommit, nil)
		}
	}
}

// check refuses, before the source freezes, what this host cannot restore.
func (v *receiver) check() error {
	h := &v.hello
	if h.Version != wireVersion {
		return fmt.Errorf("the source speaks migration protocol %d, this mycr %d: use the same mycr on both hosts", h.Version, wireVersion)
	}
	var meta criu.Meta
	if err := json.Unmarshal(h.Meta, &meta); err != nil {
		return fmt.Errorf("bad checkpoint metadata from the source: %w", err)
	}
	if v.r.Exists(h.TargetID) {
		return fmt.Errorf("container %s already exists in %s on the target: pick another --target-id", h.TargetID, v.r.Dir)
	}
	if err := v.r.CheckImageHost(&meta); err != nil {
		return err
	}
	_, spec, err := runtime.LoadBundle(h.Bundle)
	if err != nil {
		return fmt.Errorf("bundle on the target: %w", err)
	}
	if err := runtime.RemapMounts(spec, h.RemapMounts); err != nil {
		return err
	}
	if err := runtime.CheckBindSources(spec); err != nil {
		return err
	}
	if h.Net != nil {
		if err := checkNetIdentity(h.Net); err != nil {
			return err
		}
	}
	if spec.Process != nil && spec.Process.Terminal {
		return errors.New("the container has a terminal: migration to another host does not carry terminals (its pty stays on the source)")
	}
	v.dir, err = os.MkdirTemp("", "mycr-receive-"+h.TargetID+"-")
	if err == nil {
		err = criu.PrepareImageDir(v.dir)
	}
	return err
}

// startLazy starts `criu lazy-pages` on the received images; its page-server
// connection goes to a loopback port here that the tunnel carries to the source.
func (v *receiver) startLazy() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() {
		c, err := ln.Accept()
		ln.Close()
		if err == nil {
			v.front.attach(c)
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	bin := ""
	if v.r.Criu != nil {
		bin = v.r.Criu.Binary
	}
	if v.daemon, err = criu.StartLazyPages(criu.LazyPagesOpts{Binary: bin, ImagesDir: v.dir, Address: "127.0.0.1", Port: port}); err != nil {
		ln.Close()
		return err
	}
	// Not waited for here: the daemon gets ready while the restore prepares
	// the container, and the restore waits for it before CRIU runs.
	return linkLost0(v.w.SendJSON(frameLazyReady, wireReply{OK: true}))
}

// lazyReady waits for the lazy-pages daemon of a lazy restore (nil: none).
func (v *receiver) lazyReady(lazy bool) func() error {
	if !lazy || v.daemon == nil {
		return nil
	}
	return func() error { return v.daemon.WaitReady(30*time.Second, nil) }
}

// restore restores the received images as the target container, detached.
func (v *receiver) restore(lazy bool) error {
	h := &v.hello
	bundle, spec, err := runtime.LoadBundle(h.Bundle)
	if err != nil {
		return err
	}
	if err := runtime.RemapMounts(spec, h.RemapMounts); err != nil {
		return err
	}
	stdio, err := targetStdio(h.Stdio)
	if err != nil {
		return err
	}
	defer func() {
		for _, f := range stdio {
			f.Close()
		}
	}()
	if h.Net != nil {
		if v.netUndo, err = makeNetIdentity(h.Net); err != nil {
			return err
		}
	}
	co := libcontainer.CriuOpts{ImagesDirectory: v.dir, LazyPages: lazy, StatusFd: -1}
	h.Criu.apply(&co)
	start := time.Now()
	v.made = true
	if _, err := v.r.Restore(runtime.RestoreOpts{
		Create:     runtime.CreateOpts{ID: h.TargetID, Bundle: bundle, Spec: spec},
		Criu:       co,
		Launch:     runtime.LaunchOpts{IO: runtime.IOConfig{Detach: true, Stdio: stdio}, PidFile: h.PidFile},
		BeforeCriu: v.lazyReady(lazy),
	}); err != nil {
		return fmt.Errorf("restore on the target failed: %w", err)
	}
	if err := setHostEnds(h.Net, true); err != nil {
		return fmt.Errorf("take the container's host end up on the target: %w", err)
	}
	if err := announce(h.Net); err != nil {
		logrus.Warnf("gratuitous ARP for %s failed: %v", h.TargetID, err)
	}
	rep := wireReply{OK: true, RestoreMs: ms(time.Since(start))}
	if c, err := v.r.Load(h.TargetID); err == nil {
		if st, err := c.State(); err == nil {
			rep.Pid = st.InitProcessPid
		}
	}
	if rs, err := restoreStats(v.dir); err == nil {
		rep.RestoreMs = float64(rs.GetRestoreTime()) / 1000
	}
	if err := v.w.SendJSON(frameRestored, rep); err != nil {
		return linkLost(err)
	}
	if lazy {
		go v.watchDaemon()
	}
	return nil
}

// watchDaemon tells the source when the lazy-pages daemon has every page.
func (v *receiver) watchDaemon() {
	<-v.daemon.Exited()
	if err := v.daemon.Err(); err != nil {
		_ = v.w.SendJSON(frameError, wireReply{Error: fmt.Sprintf("the lazy-pages daemon on the target failed: %v (log %s)", err, v.daemon.LogPath())})
		return
	}
	_ = v.w.Send(framePagesDone, nil)
}

// cleanup destroys what this side made: the migration did not commit.
func (v *receiver) cleanup() {
	if v.daemon != nil {
		v.daemon.Kill()
	}
	v.front.close()
	if v.made {
		if c, err := v.r.Load(v.hello.TargetID); err == nil {
			if err := runtime.Destroy(c); err != nil {
				logrus.Errorf("cannot remove the half-migrated %s: %v", v.hello.TargetID, err)
			}
		}
	}
	if v.netUndo != nil {
		v.netUndo()
	}
	if v.dir != "" {
		logrus.Infof("images and CRIU logs of the failed migration are kept in %s", v.dir)
	}
}

// targetStdio opens the target container's stdin (/dev/null) and its
// stdout/stderr: a file on the target ("" or "null": /dev/null).
func targetStdio(path string) ([]*os.File, error) {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	if path == "" || path == "null" {
		return []*os.File{null, null, null}, nil
	}
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		null.Close()
		return nil, fmt.Errorf("the target's stdio file: %w", err)
	}
	return []*os.File{null, out, out}, nil
}
