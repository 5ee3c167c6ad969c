package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// migrateReport is the part of `migrate --format json` the tests check.
type migrateReport struct {
	Mode           string  `json:"mode"`
	FallbackReason string  `json:"fallback_reason"`
	TargetPid      int     `json:"target_pid"`
	FrozenMs       float64 `json:"frozen_ms"`
	FrozenFrom     string  `json:"frozen_from"`
	CriuDumpReady  float64 `json:"criu_dump_ready_ms"`
	CriuRestoreMs  float64 `json:"criu_restore_ms"`
	TotalMs        float64 `json:"total_ms"`
	ImageBytes     int64   `json:"image_bytes"`
	PageBytes      int64   `json:"page_bytes"`
	BytesMoved     int64   `json:"bytes_moved"`
}

// parseMigrateReport reads the JSON report, the last line of migrate's stdout.
func parseMigrateReport(t *testing.T, r Result) migrateReport {
	t.Helper()
	var rep migrateReport
	if err := json.Unmarshal([]byte(lastLine(r.Stdout)), &rep); err != nil {
		t.Fatalf("migrate --format json printed no JSON report: %v\n%s", err, r)
	}
	if rep.FrozenMs <= 0 || rep.TotalMs < rep.FrozenMs || rep.BytesMoved <= 0 {
		t.Fatalf("report lacks frozen time, total time or bytes moved: %+v\n%s", rep, r)
	}
	return rep
}

// MemProg is a detached container running testdata/memprog: mb MiB of memory,
// each page with its own pattern, and a counter in Vol/count.
type MemProg struct {
	ID, Bundle, Vol, Count string
	MB                     int
	Pages                  int
}

// StartMemProg builds memprog (static) into the bundle's rootfs, runs it and
// waits until its memory is filled and it counts.
func (e *Env) StartMemProg(name string, mb int, args ...string) *MemProg {
	e.t.Helper()
	bin := filepath.Join(e.Dir, "memprog")
	if err := goBuild(bin, "./integration/testdata/memprog", true); err != nil {
		e.t.Fatal(err)
	}
	p := &MemProg{ID: e.ID(name), Vol: e.Mkdir("vol"), MB: mb, Pages: mb << 20 / 4096}
	p.Count = filepath.Join(p.Vol, "count")
	p.Bundle = e.NewBundle(Args(append([]string{"/bin/memprog", "-mb", fmt.Sprint(mb)}, args...)...), Bind(p.Vol, "/out"))
	if err := copyFile(bin, filepath.Join(p.Bundle, "rootfs", "bin", "memprog")); err != nil {
		e.t.Fatal(err)
	}
	e.MustRun("run", "-d", "--bundle", p.Bundle, p.ID)
	waitFor(e.t, time.Duration(10+mb/64)*time.Second, "memprog to fill its memory", func() (bool, string) {
		_, err := os.ReadFile(filepath.Join(p.Vol, "ready"))
		return err == nil, fmt.Sprint(err)
	})
	WaitCounterAbove(e.t, p.Count, 2, 5*time.Second)
	return p
}

// ExpectMemoryIntact has memprog (now the container id under e) check every
// page of its memory (SIGUSR1) and fails unless all of them hold their pattern.
func (e *Env) ExpectMemoryIntact(p *MemProg, id string) {
	e.t.Helper()
	verify := filepath.Join(p.Vol, "verify")
	os.Remove(verify)
	e.MustRun("kill", id, "USR1")
	want := fmt.Sprintf("ok %d", p.Pages)
	waitFor(e.t, time.Duration(10+p.MB/64)*time.Second, "memprog's full memory check", func() (bool, string) {
		b, err := os.ReadFile(verify)
		if err != nil {
			return false, err.Error()
		}
		got := strings.TrimSpace(string(b))
		if strings.HasPrefix(got, "BAD") {
			e.t.Fatalf("memory of %s damaged by the migration: %s", id, got)
		}
		return got == want, got
	})
}
