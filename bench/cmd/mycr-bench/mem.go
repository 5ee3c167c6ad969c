package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// memory: containers that touched N MiB, checkpointed to and restored from a
// tmpfs and a disk directory, by mycr, runc and bare criu, next to dd writing and
// reading the same number of bytes to the same directory.
func (b *Bench) memory() error {
	if len(b.MemSizes) == 0 {
		return nil
	}
	reported0 := readInt("/sys/module/page_reporting/parameters/reported_kib")
	type who struct {
		name string
		rt   *rt
		dd   bool
	}
	all := []who{{"mycr", b.mycr, false}, {"runc", b.runc, false}, {"criu", nil, false}, {"dd", nil, true}}
	for _, size := range b.MemSizes {
		runs := b.MemRuns
		if size > 1024 {
			runs = b.BigRuns
		}
		bundle, err := b.memBundle(size, 0)
		if err != nil {
			return err
		}
		list := all
		if size > b.MemRuncMax {
			list = []who{all[0], all[2], all[3]}
		}
		for _, fs := range []string{"tmpfs", "disk"} {
			dir := b.tmpfsDir
			if fs == "disk" {
				dir = b.diskDir
			}
			t := time.Now()
			for i := 0; i < runs; i++ {
				for _, w := range rotate(list, i+size/64) {
					if w.dd {
						b.ddCycle(size, fs, dir)
					} else {
						b.memCycle(size, fs, dir, bundle, w.name, w.rt, i)
					}
				}
			}
			logf("mem %d MiB on %s: %d rounds in %.0f s", size, fs, runs, time.Since(t).Seconds())
		}
	}
	if r1 := readInt("/sys/module/page_reporting/parameters/reported_kib"); reported0 >= 0 && r1 >= reported0 {
		b.res.Facts["page_reporting_gib"] = fmt.Sprintf("%.1f", float64(r1-reported0)/(1<<20))
	}
	return nil
}

// mountTmpfs mounts the tmpfs for tmpfs images and warmMemory; its size is a cap,
// not a reservation.
func (b *Bench) mountTmpfs(maxMiB int) error {
	b.tmpfsDir = filepath.Join(b.Work, "tmpfs")
	b.diskDir = filepath.Join(b.Work, "disk")
	os.MkdirAll(b.tmpfsDir, 0o755)
	os.MkdirAll(b.diskDir, 0o700)
	if err := unix.Mount("tmpfs", b.tmpfsDir, "tmpfs", 0, fmt.Sprintf("size=%dm,mode=0700", 2*maxMiB+512)); err != nil {
		return fmt.Errorf("mount tmpfs: %w", err)
	}
	b.tmpfsMounted = true
	return nil
}

// memBundle is a container running memhog with size MiB, fill %% of each page random.
func (b *Bench) memBundle(size, fill int) (string, error) {
	name := fmt.Sprintf("mem-%d-%d", size, fill)
	return bundleAt(b.runc.Bin, filepath.Join(b.Work, "b-"+name), b.memRootfs,
		setArgs("/bin/memhog", strconv.Itoa(size), "/ready-"+name, strconv.Itoa(fill)))
}

// startMemhog runs a memhog container (untimed) and waits until its memory is written.
func (b *Bench) startMemhog(r *rt, bundle, id string) (int, error) {
	ready := filepath.Join(b.memRootfs, "ready-"+strings.TrimPrefix(filepath.Base(bundle), "b-"))
	os.Remove(ready)
	_, pid, err := r.runDetached(bundle, id, filepath.Join(b.Work, "pids", id))
	if err == nil {
		err = waitFile(ready, 5*time.Minute)
	}
	if err != nil {
		r.remove(id, pid)
		return 0, fmt.Errorf("start: %w", err)
	}
	return pid, nil
}

func readInt(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

func syncDisk(fs string) {
	if fs == "disk" {
		unix.Sync()
	}
}

func (b *Bench) memCycle(size int, fs, dir, bundle, who string, r *rt, i int) {
	starter := r
	if starter == nil {
		starter = b.criu.Runc
	}
	id := starter.id(fmt.Sprintf("mem%d%s%d", size, fs[:1], i))
	img := filepath.Join(dir, "img-"+id)
	defer os.RemoveAll(img)
	ck := b.res.get("mem", "checkpoint", who, size, fs)
	rs := b.res.get("mem", "restore", who, size, fs)
	pid, err := b.startMemhog(starter, bundle, id)
	if err != nil {
		ck.fail(err)
		return
	}
	syncDisk(fs)
	b.warmMemory(size + 64)
	var res Result
	if r != nil {
		res, err = r.checkpoint(id, img)
	} else {
		res, err = b.criu.dump(pid, img)
	}
	if err != nil {
		logf("mem %s %d %s: checkpoint: %v", who, size, fs, err)
		ck.fail(err)
		starter.remove(id, pid)
		return
	}
	_ = waitOrphan(pid, time.Minute)
	ck.add(res.Ms())
	ck.addCriu(filepath.Join(img, "dump.log"))
	ck.addBytes(imageBytes(img))
	syncDisk(fs)
	b.warmMemory(size + 64)
	restPid := filepath.Join(b.Work, "pids", id+".restored")
	var pid2 int
	if r != nil {
		res, pid2, err = r.restore(bundle, id, img, restPid)
	} else {
		res, pid2, err = b.criu.restore(b.memRootfs, img, restPid)
	}
	if err == nil && !memhogAlive(pid2, size) {
		err = fmt.Errorf("restored memhog (pid %d) is not running with %d MiB", pid2, size)
	}
	if err != nil {
		logf("mem %s %d %s: restore: %v", who, size, fs, err)
		rs.fail(err)
	} else {
		rs.add(res.Ms())
		rs.addCriu(filepath.Join(img, "restore.log"))
	}
	starter.remove(id, pid2)
}

// memhogAlive checks the restored workload runs and has its memory back.
func memhogAlive(pid, size int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "State:") && strings.Contains(l, "Z") {
			return false
		}
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				kb, _ := strconv.Atoi(f[1])
				return kb >= size*1024*9/10
			}
		}
	}
	return false
}

func (b *Bench) ddCycle(size int, fs, dir string) {
	file := filepath.Join(dir, "dd.bin")
	defer os.Remove(file)
	syncDisk(fs)
	b.warmMemory(size + 64)
	w, err := Cmd{Args: []string{"dd", "if=/dev/zero", "of=" + file, "bs=1M", "count=" + strconv.Itoa(size), "status=none"}, Capture: true}.Run()
	ws := b.res.get("mem", "dd write", "dd", size, fs)
	if err != nil {
		ws.fail(err)
		return
	}
	ws.add(w.Ms())
	syncDisk(fs)
	r, err := Cmd{Args: []string{"dd", "if=" + file, "of=/dev/null", "bs=1M", "status=none"}, Capture: true}.Run()
	rs := b.res.get("mem", "dd read", "dd", size, fs)
	if err != nil {
		rs.fail(err)
		return
	}
	rs.add(r.Ms())
}

// warmMemory writes and deletes mib MiB in the bench's tmpfs, untimed, right
// before a timed operation that needs that much new memory. On this VM the guest
// hands memory that stayed free for a couple of seconds back to the host
// (virtio-balloon free page reporting), and touching it again is several times
// slower: without this, the same checkpoint varied 4× from run to run depending on
// how long the machine had been idle before it.
func (b *Bench) warmMemory(mib int) {
	file := filepath.Join(b.tmpfsDir, "warm.bin")
	_, _ = Cmd{Args: []string{"dd", "if=/dev/zero", "of=" + file, "bs=1M", "count=" + strconv.Itoa(mib), "status=none"}}.Run()
	os.Remove(file)
}
