package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// criuLazyMode is the migrate section's third row: the same post-copy move done
// by bare CRIU as its documentation describes it on one host, `criu dump
// --lazy-pages` (page server on loopback), the images linked into a second
// directory, `criu lazy-pages` there and `criu restore --lazy-pages`. It is
// the floor for mycr's lazy frozen time: what CRIU alone takes to freeze,
// dump and restore the same container. Its network namespace is left empty
// (--empty-ns net), as mycr does for a namespace holding only lo.
const criuLazyMode = "lazy, bare criu"

func (b *Bench) criuLazyOnce(size int, bundle string, i int) error {
	r := b.criu.Runc
	id := r.id(fmt.Sprintf("mig%dc%d", size, i))
	pid, err := b.startMemhog(r, bundle, id)
	if err != nil {
		return err
	}
	pid2 := 0
	defer func() { killWait(pid2); r.remove(id, pid) }()
	dir := filepath.Join(b.diskDir, "mig-"+id)
	defer os.RemoveAll(dir)
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return err
	}
	mounts, err := cgroupMounts(pid)
	if err != nil {
		return err
	}
	if b.criu.mounts == nil {
		b.criu.mounts = map[string][]cgMount{}
	}
	b.criu.mounts[dst] = mounts
	defer delete(b.criu.mounts, dst)
	port, err := loopbackPort()
	if err != nil {
		return err
	}
	undo, err := pipeMaxSize(4 << 20)
	if err != nil {
		return err
	}
	defer undo()
	addr := []string{"--address", "127.0.0.1", "--port", strconv.Itoa(port)}
	b.warmMemory(size + 64)

	dumpArgs := append([]string{"dump", "-t", strconv.Itoa(pid), "-D", src, "-o", "dump.log", "-v4", "--lazy-pages", "--empty-ns", "net"}, addr...)
	for i, m := range mounts {
		dumpArgs = append(dumpArgs, "--external", fmt.Sprintf("mnt[%s]:cg%d", m.Dest, i))
	}
	if err := os.MkdirAll(src, 0o700); err != nil {
		return err
	}
	t0 := time.Now()
	dumpWait, dumpKill, err := b.criu.startReady(dumpArgs...) // ready: the dump is written, pages wait in its page server
	if err != nil {
		return fmt.Errorf("criu dump --lazy-pages: %w (%s)", err, grepErrors(readFrom(filepath.Join(src, "dump.log"), 0, 1<<22)))
	}
	defer dumpKill()
	if err := linkFiles(src, dst); err != nil {
		return err
	}
	lazyWait, lazyKill, err := b.criu.startReady(append([]string{"lazy-pages", "--page-server", "-D", dst, "-o", "lazy-pages.log", "-v4"}, addr...)...)
	if err != nil {
		return fmt.Errorf("criu lazy-pages: %w", err)
	}
	defer lazyKill()
	pidFile := filepath.Join(b.Work, "pids", id+".migrated")
	if _, pid2, err = b.criu.restore(b.memRootfs, dst, pidFile, "--lazy-pages"); err != nil {
		return fmt.Errorf("criu restore --lazy-pages: %w (%s)", err, grepErrors(readFrom(filepath.Join(dst, "restore.log"), 0, 1<<22)))
	}
	running := time.Now()
	for _, wait := range []func() error{lazyWait, dumpWait} { // both end once the last page has moved
		if err := wait(); err != nil {
			return err
		}
	}
	total := time.Since(t0)
	_ = waitOrphan(pid, time.Minute)
	if !memhogAlive(pid2, size) {
		return fmt.Errorf("migrated memhog (pid %d) is not running with %d MiB", pid2, size)
	}
	seized, err := criuSeizedAt(filepath.Join(src, "dump.log"))
	if err != nil {
		return err
	}
	b.res.get("migrate", "frozen", criuLazyMode, size, "").add(ms(running.Sub(t0) - seized))
	tot := b.res.get("migrate", "total", criuLazyMode, size, "")
	tot.add(ms(total - seized))
	tot.addBytes(imageBytes(src) + int64(size)<<20)
	b.res.get("migrate", "command", criuLazyMode, size, "").add(ms(total))
	return nil
}

// pipeMaxSize raises fs.pipe-max-size to at least n until undo: CRIU's lazy
// page server needs a 4 MiB pipe, and without CAP_SYS_RESOURCE (as here) it
// then fails on the first page ("splice: -1: Bad file descriptor"). mycr does
// the same for its own migrations.
func pipeMaxSize(n int) (undo func(), err error) {
	const sysctl = "/proc/sys/fs/pipe-max-size"
	old, err := os.ReadFile(sysctl)
	if err != nil {
		return nil, err
	}
	if cur, _ := strconv.Atoi(strings.TrimSpace(string(old))); cur >= n {
		return func() {}, nil
	}
	if err := os.WriteFile(sysctl, []byte(strconv.Itoa(n)), 0o644); err != nil {
		return nil, err
	}
	return func() { _ = os.WriteFile(sysctl, old, 0o644) }, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// startReady runs criu in the background with --status-fd and returns once it
// says it is ready (a lazy dump: images written and page server listening;
// lazy-pages: its socket made), or fails if it exits first. wait waits for its
// end; kill stops it (a no-op once it has ended).
func (b *bareCriu) startReady(args ...string) (wait func() error, kill func(), err error) {
	rd, wr, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	defer rd.Close()
	pid := make(chan int, 1)
	done := make(chan error, 1)
	go func() {
		defer wr.Close()
		_, err := Cmd{Args: append(append([]string{b.Bin}, args...), "--status-fd", "3"), Env: b.Env, Extra: []*os.File{wr},
			Timeout: 10 * time.Minute, OnStart: func(p int) { pid <- p }}.Run()
		done <- err
	}()
	ready := make(chan error, 1)
	go func() {
		_, err := io.ReadFull(rd, make([]byte, 1))
		ready <- err
	}()
	var p int
	select {
	case p = <-pid:
	case err := <-done:
		return nil, nil, err
	}
	kill = func() { _ = unix.Kill(-p, unix.SIGKILL) }
	wait = func() error { return <-done }
	select {
	case err = <-ready:
	case err = <-done:
		if err == nil {
			err = errors.New("ended before it was ready")
		}
	case <-time.After(5 * time.Minute):
		err = errors.New("not ready after 5 minutes")
	}
	if err != nil {
		kill()
		return nil, nil, fmt.Errorf("%s: %w", args[0], err)
	}
	return wait, kill, nil
}

// seizeRe is the dump.log line CRIU writes as it starts stopping the tasks.
var seizeRe = regexp.MustCompile(`^\((\d+\.\d+)\) Dumping processes`)

// criuSeizedAt reads from dump.log when CRIU began stopping the tasks, counted
// from its start: the part of the command's time the container still ran.
func criuSeizedAt(log string) (time.Duration, error) {
	f, err := os.Open(log)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := seizeRe.FindStringSubmatch(sc.Text()); m != nil {
			s, _ := strconv.ParseFloat(m[1], 64)
			return time.Duration(s * float64(time.Second)), nil
		}
	}
	return 0, fmt.Errorf("%s: no %q line", log, "Dumping processes")
}

// linkFiles hard-links every file of src into dst, as mycr hands images to a
// target root on the same host.
func linkFiles(src, dst string) error {
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.Type().IsRegular() {
			if err := os.Link(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// loopbackPort is a TCP port free on 127.0.0.1 right now.
func loopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// grepErrors is the error lines of a CRIU log, for a failure's message.
func grepErrors(log string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "Error") && len(out) < 6 {
			out = append(out, l)
		}
	}
	return strings.Join(out, " | ")
}
