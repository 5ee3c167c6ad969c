package migrate

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mycr/mycr/criu"
)

// lazyLogName is the lazy-pages daemon's log, in the target image dir.
const lazyLogName = "lazy-pages.log"

// lazyDaemon is `criu lazy-pages` on the target side.
type lazyDaemon struct {
	cmd    *exec.Cmd
	ready  *os.File      // read end of its status fd
	done   chan error    // its exit, delivered once
	exited chan struct{} // closed when it has exited
	stderr bytes.Buffer
}

// startLazyDaemon runs `criu lazy-pages --page-server` on the target's image
// dir: it serves the restored processes' page faults from the page server at
// addr:port, and exits once every page has moved. Its socket for the restore,
// lazy-pages.socket, is in the image dir, where the restore looks for it.
func startLazyDaemon(env *criu.Env, dir, addr string, port int) (*lazyDaemon, error) {
	bin := "criu"
	if env != nil {
		bin = env.Binary
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	d := &lazyDaemon{ready: r, done: make(chan error, 1), exited: make(chan struct{})}
	d.cmd = exec.Command(bin, "lazy-pages", "--page-server", "--address", addr, "--port", strconv.Itoa(port),
		"--images-dir", dir, "--work-dir", dir, "--log-file", lazyLogName, "-v4", "--status-fd", "3")
	d.cmd.Dir = dir
	d.cmd.ExtraFiles = []*os.File{w}
	d.cmd.Stderr = &d.stderr
	// Dies with mycr: without its pages, the target must not run on.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	started := make(chan error, 1)
	go func() {
		// Pdeathsig follows the thread that started the child: keep it alive.
		goruntime.LockOSThread()
		defer goruntime.UnlockOSThread()
		if err := d.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		err := d.cmd.Wait()
		if err != nil && d.stderr.Len() > 0 {
			err = fmt.Errorf("%w: %s", err, firstLineOf(strings.TrimSpace(d.stderr.String())))
		}
		d.done <- err
		close(d.exited)
	}()
	err = <-started
	w.Close()
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("start criu lazy-pages: %w", err)
	}
	return d, nil
}

// waitReady waits until the daemon listens for the restore.
func (d *lazyDaemon) waitReady(limit time.Duration, cancel <-chan struct{}) error {
	ok := make(chan bool, 1)
	go func() {
		b := make([]byte, 1)
		n, _ := d.ready.Read(b)
		ok <- n == 1
	}()
	defer d.ready.Close()
	select {
	case good := <-ok:
		if good {
			return nil
		}
		select {
		case err := <-d.done:
			d.done <- err // keep it for whoever waits next
			return fmt.Errorf("criu lazy-pages failed to start: %v (log %s)", err, filepath.Join(d.cmd.Dir, lazyLogName))
		case <-time.After(5 * time.Second):
			return errors.New("criu lazy-pages closed its status fd without becoming ready")
		}
	case <-time.After(limit):
		return fmt.Errorf("criu lazy-pages not ready after %v", limit)
	case <-cancel:
		return errors.New("migration interrupted")
	}
}

// kill stops the daemon (if still running) and waits for it.
func (d *lazyDaemon) kill() {
	select {
	case <-d.exited:
		return
	default:
	}
	_ = d.cmd.Process.Kill()
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
	}
}
