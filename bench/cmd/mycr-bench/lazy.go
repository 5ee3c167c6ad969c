package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// lazy: `mycr restore --lazy` against an eager restore of the same image
// (memhog, N MiB, images on tmpfs and on disk). Eager: the restore command
// until the container runs (its pid file), and the first answer (memhog checks
// 64 pages on SIGUSR1) after it. Lazy: running and last page from mycr's
// "lazy restore" JSON log entry, the first answer asked as soon as the pid
// file appears. runc's eager restore of its own image of the same memhog.
func (b *Bench) lazy() error {
	for _, size := range b.LazySizes {
		bundle, err := b.memBundle(size, 0)
		if err != nil {
			return err
		}
		for _, fs := range []string{"tmpfs", "disk"} {
			dir := b.tmpfsDir
			if fs == "disk" {
				dir = b.diskDir
			}
			t := time.Now()
			for i := 0; i < b.LazyRuns; i++ {
				if err := b.lazyRound(size, fs, dir, bundle, i); err != nil {
					logf("lazy %d MiB %s: %v", size, fs, err)
					b.res.get("lazy", "running", "mycr lazy", size, fs).fail(err)
				}
			}
			logf("lazy %d MiB on %s: %d rounds in %.0f s", size, fs, b.LazyRuns, time.Since(t).Seconds())
		}
	}
	return nil
}

// lazyRound checkpoints one memhog and restores its image eagerly and lazily
// (mycr), and runc its own checkpoint of the same memhog eagerly (runc cannot
// restore mycr's images: they declare mycr's external mounts), the order
// rotating. runc up to -mem-runc-max, as in the memory section.
func (b *Bench) lazyRound(size int, fs, dir, bundle string, i int) error {
	id := b.mycr.id(fmt.Sprintf("lz%d%s%d", size, fs[:1], i))
	img := filepath.Join(dir, "img-"+id)
	defer os.RemoveAll(img)
	if err := b.memhogImage(b.mycr, bundle, id, img); err != nil {
		return err
	}
	kinds := []string{"mycr eager", "mycr lazy"}
	runcImg := filepath.Join(dir, "img-"+b.runc.id(id))
	if size <= b.MemRuncMax {
		defer os.RemoveAll(runcImg)
		if err := b.memhogImage(b.runc, bundle, b.runc.id(id), runcImg); err != nil {
			b.res.get("lazy", "running", "runc eager", size, fs).fail(err)
		} else {
			kinds = append(kinds, "runc eager")
		}
	}
	answerFile := filepath.Join(b.memRootfs, "ready-"+strings.TrimPrefix(filepath.Base(bundle), "b-")+".answer")
	for _, who := range rotate(kinds, i) {
		syncDisk(fs)
		b.warmMemory(size + 64)
		os.Remove(answerFile)
		var err error
		switch who {
		case "mycr lazy":
			err = b.lazyOnce(size, fs, bundle, id, img, answerFile)
		case "mycr eager":
			err = b.eagerOnce(b.mycr, who, size, fs, bundle, id, img, answerFile)
		case "runc eager":
			err = b.eagerOnce(b.runc, who, size, fs, bundle, b.runc.id(id), runcImg, answerFile)
		}
		if err != nil {
			logf("lazy %d MiB %s, %s: %v", size, fs, who, err)
			b.res.get("lazy", "running", who, size, fs).fail(err)
		}
	}
	return nil
}

// memhogImage starts a memhog with r and checkpoints it into img (untimed).
func (b *Bench) memhogImage(r *rt, bundle, id, img string) error {
	pid, err := b.startMemhog(r, bundle, id)
	if err != nil {
		return err
	}
	if _, err := r.checkpoint(id, img); err != nil {
		r.remove(id, pid)
		return fmt.Errorf("%s checkpoint: %w", r.Name, err)
	}
	_ = waitOrphan(pid, time.Minute)
	return nil
}

// eagerOnce: restore -d until the pid file, then the first answer.
func (b *Bench) eagerOnce(r *rt, who string, size int, fs, bundle, id, img, answerFile string) error {
	pidFile := filepath.Join(b.Work, "pids", id+".lazy")
	os.Remove(pidFile)
	res, pid, err := r.restore(bundle, id, img, pidFile)
	if err != nil {
		_, _ = r.delete(id, true)
		return err
	}
	defer r.remove(id, pid)
	first, err := askAnswer(pid, answerFile, 2*time.Minute)
	if err != nil {
		return err
	}
	b.res.get("lazy", "running", who, size, fs).add(res.Ms())
	b.res.get("lazy", "first answer", who, size, fs).add(res.Ms() + first)
	return nil
}

// lazyReport is mycr's "lazy restore" JSON log entry.
type lazyReport struct {
	Msg        string  `json:"msg"`
	Lazy       bool    `json:"lazy"`
	RunningMs  float64 `json:"running_ms"`
	LastPageMs float64 `json:"last_page_ms"`
	Fallback   string  `json:"fallback_reason"`
}

// lazyOnce: memhog restored with --lazy, asked as soon as its pid file appears.
func (b *Bench) lazyOnce(size int, fs, bundle, id, img, answerFile string) error {
	lr, err := b.lazyRestore(bundle, id, img, func(pid int, start time.Time) (float64, error) {
		if _, err := askAnswer(pid, answerFile, 2*time.Minute); err != nil {
			return 0, err
		}
		return float64(time.Since(start).Microseconds()) / 1000, nil
	})
	if err != nil {
		return err
	}
	defer b.mycr.remove(id, lr.pid)
	if !memhogAlive(lr.pid, size) {
		return fmt.Errorf("lazily restored memhog (pid %d) is not running with %d MiB", lr.pid, size)
	}
	lr.record(b.res, "lazy", "mycr lazy", size, fs)
	return nil
}

// lazyRun is one `restore -d --lazy`: from the command's start until the pid
// file (running), the first correct answer, and mycr's exit (last page in).
type lazyRun struct {
	pid                      int
	running, first, lastPage float64
}

func (lr lazyRun) record(res *Results, section, who string, size int, fs string) {
	res.get(section, "running", who, size, fs).add(lr.running)
	res.get(section, "first answer", who, size, fs).add(lr.first)
	res.get(section, "last page", who, size, fs).add(lr.lastPage)
}

// lazyRestore runs restore -d --lazy in the background and calls ask (the
// milliseconds from the command's start to the first correct answer) as soon as the pid
// file appears, while mycr still waits for the last page. On success the
// container runs (the caller removes it, pid in the result).
func (b *Bench) lazyRestore(bundle, id, img string, ask func(pid int, start time.Time) (float64, error), flags ...string) (lazyRun, error) {
	pidFile := filepath.Join(b.Work, "pids", id+".lazy")
	os.Remove(pidFile)
	logFile := filepath.Join(b.Work, id+"-lazy.json")
	defer os.Remove(logFile)
	args := append([]string{b.mycr.Bin, "--root", b.mycr.Root, "--log", logFile, "--log-format", "json",
		"restore", "-d", "--lazy", "--no-fallback"}, flags...)
	args = append(args, "--bundle", bundle, "--image-path", img, "--pid-file", pidFile, id)
	ch := make(chan done, 1)
	start := time.Now()
	go func() {
		res, err := Cmd{Args: args, Env: b.mycr.Env, Capture: true, Timeout: 10 * time.Minute}.Run()
		ch <- done{res, err}
	}()
	var lr lazyRun
	pid, runningMs, err := pidOrEnd(pidFile, ch, start)
	if err != nil {
		data, _ := os.ReadFile(filepath.Join(img, "lazy-pages.log"))
		return lr, fmt.Errorf("%w; lazy-pages.log: %s", err, lastLines(string(data), 3))
	}
	lr.pid, lr.running = pid, runningMs
	lr.first, err = ask(pid, start)
	ansErr := err
	d := <-ch
	if d.err != nil {
		b.mycr.remove(id, pid)
		return lr, fmt.Errorf("restore --lazy: %v: %s", d.err, lastLines(d.res.Output, 3))
	}
	if ansErr != nil {
		b.mycr.remove(id, pid)
		return lr, ansErr
	}
	lr.lastPage = float64(d.res.End.Sub(start).Microseconds()) / 1000 // mycr exits at the last page
	var rep lazyReport
	data, _ := os.ReadFile(logFile)
	for _, l := range strings.Split(string(data), "\n") {
		var e lazyReport
		if json.Unmarshal([]byte(l), &e) == nil && e.Msg == "lazy restore" {
			rep = e
		}
	}
	if !rep.Lazy || rep.LastPageMs <= 0 {
		b.mycr.remove(id, pid)
		return lr, fmt.Errorf("no lazy restore report (fallback %q) in %s", rep.Fallback, lastLines(string(data), 3))
	}
	return lr, nil
}

type done struct {
	res Result
	err error
}

// pidOrEnd waits for the pid file of a restore running in the background
// (its end arrives on ch, and is put back) and says when it appeared.
func pidOrEnd(pidFile string, ch chan done, start time.Time) (int, float64, error) {
	for {
		if p, err := readPid(pidFile); err == nil && p > 0 {
			return p, float64(time.Since(start).Microseconds()) / 1000, nil
		}
		select {
		case d := <-ch:
			if p, err := readPid(pidFile); err == nil && p > 0 {
				ch <- d
				return p, float64(time.Since(start).Microseconds()) / 1000, nil
			}
			return 0, 0, fmt.Errorf("restore --lazy ended without a pid file: %v %s", d.err, lastLines(d.res.Output, 3))
		case <-time.After(time.Millisecond):
		}
	}
}

// askAnswer sends memhog SIGUSR1 (again every 50 ms until it answers: a
// signal before its handler was restored would be lost) and returns how long
// the correct answer took.
func askAnswer(pid int, answerFile string, limit time.Duration) (float64, error) {
	t := time.Now()
	var sent time.Time
	for time.Since(t) < limit {
		if time.Since(sent) > 50*time.Millisecond {
			if err := unix.Kill(pid, unix.SIGUSR1); err != nil {
				return 0, fmt.Errorf("signal memhog %d: %w", pid, err)
			}
			sent = time.Now()
		}
		if data, err := os.ReadFile(answerFile); err == nil && len(data) > 0 {
			if s := strings.TrimSpace(string(data)); s != "ok" {
				return 0, fmt.Errorf("memhog answered %q: memory damaged", s)
			}
			return float64(time.Since(t).Microseconds()) / 1000, nil
		}
		time.Sleep(time.Millisecond)
	}
	return 0, fmt.Errorf("memhog %d did not answer within %v", pid, limit)
}
