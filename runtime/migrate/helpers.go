package migrate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/checkpoint-restore/go-criu/v7/crit"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/stats"
	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/mycr/mycr/criu"
)

// lazyLogName is the lazy-pages daemon's log, in the target image dir.
const lazyLogName = "lazy-pages.log"

// lazyUnusable says why post-copy cannot work with this CRIU and kernel ("" = it can).
func lazyUnusable(env *criu.Env) string {
	fd, _, errno := unix.Syscall(unix.SYS_USERFAULTFD, unix.O_CLOEXEC|unix.O_NONBLOCK, 0, 0)
	if errno != 0 {
		return "the userfaultfd syscall fails: " + errno.Error()
	}
	unix.Close(int(fd))
	if why := lazyPipeProblem(); why != "" {
		return why
	}
	bin := ""
	if env != nil {
		bin = env.Binary
	}
	if ok, detail := criu.HostHas(bin, criu.NeedUffd); !ok {
		return detail
	}
	return ""
}

// freeLoopbackPort picks a port for CRIU's page server. CRIU binds it itself a
// moment later; the race with another program taking it only fails the dump,
// which leaves the container running.
func freeLoopbackPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// pinPageServer makes the lazy dump's page server listen on addr only. CRIU's
// RPC ignores the page server address of a lazy dump and binds every
// interface, but `criu swrk` reads CRIU_CONFIG_FILE, where an "address" line
// sets it. A CRIU_CONFIG_FILE the user set is kept (its lines come first).
func pinPageServer(dir, addr string) (undo func(), err error) {
	prev, had := os.LookupEnv("CRIU_CONFIG_FILE")
	var content []byte
	if had && prev != "" {
		if content, err = os.ReadFile(prev); err != nil {
			return nil, fmt.Errorf("CRIU_CONFIG_FILE: %w", err)
		}
		if len(content) > 0 && content[len(content)-1] != '\n' {
			content = append(content, '\n')
		}
	}
	content = append(content, []byte("address "+addr+"\n")...)
	path := filepath.Join(dir, "mycr-criu.conf")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		return nil, err
	}
	os.Setenv("CRIU_CONFIG_FILE", path)
	return func() {
		if had {
			os.Setenv("CRIU_CONFIG_FILE", prev)
		} else {
			os.Unsetenv("CRIU_CONFIG_FILE")
		}
		os.Remove(path)
	}, nil
}

// transferImages gives dst the image files of src (the transfer to the target)
// and returns their bytes. Logs and mycr's config are not images. With link
// set, a file is hard-linked when both dirs share a filesystem: CRIU only reads
// images at restore, so both dirs can hold the same inode (the source's
// rollback still finds its images intact) and nothing is copied; otherwise,
// and for any file that cannot be linked, it is copied.
func transferImages(src, dst string, link bool) (int64, error) {
	ents, err := os.ReadDir(src)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, e := range ents {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasSuffix(name, ".log") || name == "mycr-criu.conf" {
			continue
		}
		from, to := filepath.Join(src, name), filepath.Join(dst, name)
		if link {
			if fi, err := os.Lstat(from); err == nil && os.Link(from, to) == nil {
				total += fi.Size()
				continue
			}
		}
		n, err := copyImage(from, to)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// transfer hands the dumped images to the target. A restore with auto-dedup
// punches holes in the page images it has read, which would eat the source's
// images through a shared inode: those are copied.
func (m *migration) transfer() error {
	n, err := transferImages(m.srcDir, m.dstDir, !m.o.Criu.AutoDedup)
	m.rep.ImageBytes = n
	return err
}

func copyImage(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in) // copy_file_range between files: no copy through user space
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// go-criu's crit readers, not its stats package: both register stats.proto and clash.
func dumpStats(dir string) (*stats.DumpStatsEntry, error) { return crit.GetDumpStats(dir) }

func restoreStats(dir string) (*stats.RestoreStatsEntry, error) { return crit.GetRestoreStats(dir) }

// freezeWatch records when the container's freezer cgroup starts freezing:
// the start of the downtime, as the container sees it.
type freezeWatch struct {
	stop chan struct{}
	done chan struct{}
	at   time.Time
	once sync.Once
}

func watchFreeze(st *libcontainer.State) *freezeWatch {
	f := &freezeWatch{stop: make(chan struct{}), done: make(chan struct{})}
	file, frozen := "", []string{"FREEZING", "FROZEN"}
	if p := st.CgroupPaths["freezer"]; p != "" {
		file = filepath.Join(p, "freezer.state")
	} else if p := st.CgroupPaths[""]; p != "" {
		file, frozen = filepath.Join(p, "cgroup.freeze"), []string{"1"}
	}
	go func() {
		defer close(f.done)
		if file == "" {
			return
		}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if b, err := os.ReadFile(file); err == nil {
				v := strings.TrimSpace(string(b))
				for _, s := range frozen {
					if v == s {
						f.at = time.Now()
						return
					}
				}
			}
			select {
			case <-f.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return f
}

// stopAndGet ends the watch and returns the freeze time (zero if not seen).
func (f *freezeWatch) stopAndGet() (time.Time, string) {
	if f == nil {
		return time.Time{}, ""
	}
	f.once.Do(func() { close(f.stop) })
	<-f.done
	return f.at, "freezer"
}

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
