package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// lazyJVM: the JVM service of section 4 with a warm cache of N MiB filled on
// its heap (-lazy-jvm-sizes), images on disk: mycr's eager restore against
// restore --lazy, until the first correct answer (which reads 64 cache pages
// spread over the heap). The slow-start case lazy restore is for.
func (b *Bench) lazyJVM() error {
	if len(b.LazyJVMSizes) == 0 {
		return nil
	}
	if b.jvmRootfs == "" {
		return fmt.Errorf("no JVM workload: %s", b.res.Skipped["jvm"])
	}
	b.res.Settings["lazy_jvm_sizes"] = fmt.Sprint(b.LazyJVMSizes)
	for _, size := range b.LazyJVMSizes {
		bundle, err := b.jvmBundle(fmt.Sprintf("b-jvm-cache%d", size), size)
		if err != nil {
			return err
		}
		t := time.Now()
		expect := ""
		for i := 0; i < b.LazyRuns; i++ {
			if err := b.lazyJVMRound(size, bundle, i, &expect); err != nil {
				logf("lazy jvm %d MiB: %v", size, err)
				b.res.get("lazy-jvm", "first answer", "mycr lazy", size, "disk").fail(err)
			}
		}
		logf("lazy jvm %d MiB: %d rounds in %.0f s", size, b.LazyRuns, time.Since(t).Seconds())
	}
	return nil
}

// lazyJVMRound: a cold start until the service answers, a checkpoint, then an
// eager and a lazy restore of that image (order rotating); then an untimed
// lazy restore with --record-hot-pages that asks once (the pages the first
// answer faults on are marked in the images), and a timed lazy restore of the
// marked images ("mycr lazy hot").
func (b *Bench) lazyJVMRound(size int, bundle string, i int, expect *string) error {
	id := b.mycr.id(fmt.Sprintf("lzjvm%d-%d", size, i))
	img := filepath.Join(b.diskDir, "img-"+id)
	defer os.RemoveAll(img)
	_, pid, err := b.mycr.runDetached(bundle, id, filepath.Join(b.Work, "pids", id))
	if err != nil {
		_, _ = b.mycr.delete(id, true)
		return err
	}
	ans, _, err := firstAnswer(pid, jvmPort, jvmQuery, 5*time.Minute)
	if err == nil {
		err = b.checkAnswer(ans, expect)
	}
	if err != nil {
		b.mycr.remove(id, pid)
		return fmt.Errorf("cold start: %w", err)
	}
	if _, err := b.mycr.checkpoint(id, img); err != nil {
		b.mycr.remove(id, pid)
		return fmt.Errorf("checkpoint: %w", err)
	}
	_ = waitOrphan(pid, time.Minute)
	for _, who := range rotate([]string{"mycr eager", "mycr lazy"}, i) {
		syncDisk("disk")
		b.warmMemory(size + 256)
		if err := b.jvmRestoreOnce(who, size, bundle, id, img, expect); err != nil {
			logf("lazy jvm %d MiB, %s: %v", size, who, err)
			b.res.get("lazy-jvm", "first answer", who, size, "disk").fail(err)
		}
	}
	if err := b.jvmRestoreOnce("learn", size, bundle, id, img, expect); err != nil {
		return fmt.Errorf("restore --lazy --record-hot-pages: %w", err)
	}
	syncDisk("disk")
	b.warmMemory(size + 256)
	if err := b.jvmRestoreOnce("mycr lazy hot", size, bundle, id, img, expect); err != nil {
		logf("lazy jvm %d MiB, hot pages: %v", size, err)
		b.res.get("lazy-jvm", "first answer", "mycr lazy hot", size, "disk").fail(err)
	}
	return nil
}

func (b *Bench) jvmRestoreOnce(who string, size int, bundle, id, img string, expect *string) error {
	answer := func(pid int, since time.Time) (float64, error) {
		ans, at, err := firstAnswer(pid, jvmPort, jvmQuery, 2*time.Minute)
		if err == nil {
			err = b.checkAnswer(ans, expect)
		}
		return float64(at.Sub(since).Microseconds()) / 1000, err
	}
	if who != "mycr eager" {
		var flags []string
		if who == "learn" {
			flags = []string{"--record-hot-pages"}
		}
		lr, err := b.lazyRestore(bundle, id, img, answer, flags...)
		if err != nil {
			return err
		}
		b.mycr.remove(id, lr.pid)
		if who != "learn" {
			lr.record(b.res, "lazy-jvm", who, size, "disk")
		}
		return nil
	}
	res, pid, err := b.mycr.restore(bundle, id, img, filepath.Join(b.Work, "pids", id+".eager"))
	if err != nil {
		_, _ = b.mycr.delete(id, true)
		return err
	}
	defer b.mycr.remove(id, pid)
	first, err := answer(pid, res.Start)
	if err != nil {
		return err
	}
	b.res.get("lazy-jvm", "running", who, size, "disk").add(res.Ms())
	b.res.get("lazy-jvm", "first answer", who, size, "disk").add(first)
	return nil
}
