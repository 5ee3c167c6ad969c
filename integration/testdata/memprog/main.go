// Command memprog is the migration tests' workload, copied into a container as
// /bin/memprog (built statically by the tests).
//
// It fills -mb MiB of anonymous memory with a pattern that differs on every
// page, writes "ready" to -ready, then counts: every -interval it writes the
// count to -out and checks a few pages of the pattern. On SIGUSR1 it checks
// every page and writes "ok N" (pages checked) or "BAD page I" to -verify. A
// page found wrong (memory lost or mixed up by a migration) is written to -out
// as "ERR ..." and memprog exits 1. With -memfd it also holds a memfd with a
// known text, which the SIGUSR1 check reads back.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const pageSize = 4096

func main() {
	mb := flag.Int("mb", 64, "MiB of memory to fill")
	out := flag.String("out", "/out/count", "file the count is written to")
	ready := flag.String("ready", "/out/ready", "file written once the memory is filled")
	verify := flag.String("verify", "/out/verify", "file the SIGUSR1 full check writes to")
	interval := flag.Duration("interval", 100*time.Millisecond, "time between counts")
	withMemfd := flag.Bool("memfd", false, "hold a memfd with a known text (checked on SIGUSR1)")
	flag.Parse()

	memfd := -1
	if *withMemfd {
		var err error
		if memfd, err = unix.MemfdCreate("memprog", 0); err != nil {
			fail(*out, "memfd_create: %v", err)
		}
		if _, err := unix.Write(memfd, []byte(memfdText)); err != nil {
			fail(*out, "write memfd: %v", err)
		}
	}

	mem := make([]byte, *mb<<20)
	pages := len(mem) / pageSize
	for i := 0; i < pages; i++ {
		fill(mem[i*pageSize:(i+1)*pageSize], i)
	}
	if err := os.WriteFile(*ready, []byte(fmt.Sprintf("ready %d\n", pages)), 0o644); err != nil {
		fail(*out, "write ready: %v", err)
	}

	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	tick := time.NewTicker(*interval)
	next := 0
	for count := 1; ; count++ {
		select {
		case <-usr1:
			msg := fmt.Sprintf("ok %d\n", pages)
			if memfd >= 0 && !memfdIntact(memfd) {
				msg = "BAD memfd\n"
			}
			for i := 0; i < pages; i++ {
				if !check(mem[i*pageSize:(i+1)*pageSize], i) {
					msg = fmt.Sprintf("BAD page %d\n", i)
					break
				}
			}
			_ = os.WriteFile(*verify, []byte(msg), 0o644)
		case <-tick.C:
		}
		// A few pages a tick, walking through all of them over time.
		for k := 0; k < 16; k++ {
			next = (next + 7919) % pages
			if !check(mem[next*pageSize:(next+1)*pageSize], next) {
				fail(*out, "page %d lost its content", next)
			}
		}
		if err := os.WriteFile(*out, []byte(fmt.Sprintf("%d\n", count)), 0o644); err != nil {
			fail(*out, "write count: %v", err)
		}
	}
}

const memfdText = "memprog's memfd: still here\n"

func memfdIntact(fd int) bool {
	b := make([]byte, len(memfdText)+1)
	n, err := unix.Pread(fd, b, 0)
	return err == nil && string(b[:n]) == memfdText
}

// fill writes page i's pattern: every 8-byte word depends on the page and the word.
func fill(p []byte, i int) {
	for w := 0; w < pageSize; w += 8 {
		binary.LittleEndian.PutUint64(p[w:], word(i, w))
	}
}

func check(p []byte, i int) bool {
	for w := 0; w < pageSize; w += 8 {
		if binary.LittleEndian.Uint64(p[w:]) != word(i, w) {
			return false
		}
	}
	return true
}

func word(i, w int) uint64 {
	return (uint64(i)+1)*0x9E3779B97F4A7C15 ^ uint64(w)*0xBF58476D1CE4E5B9
}

func fail(out, format string, args ...any) {
	_ = os.WriteFile(out, []byte("ERR "+fmt.Sprintf(format, args...)+"\n"), 0o644)
	os.Exit(1)
}
