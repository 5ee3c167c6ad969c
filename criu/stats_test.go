package criu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadDumpStats(t *testing.T) {
	dir := fixtureDir(t)
	s, err := ReadDumpStats("web1", dir, dir, 410*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if s.FreezingMs != 1.5 || s.FrozenMs != 85 || s.MemdumpMs != 2 || s.MemwriteMs != 3 ||
		s.PagesScanned != 100 || s.PagesWritten != 40 || s.PagesSkipped != 1 {
		t.Errorf("CRIU's numbers: %+v", s)
	}
	if s.ImageBytes != dirBytes(dir) || s.ImageBytes == 0 {
		t.Errorf("image size %d, dir holds %d", s.ImageBytes, dirBytes(dir))
	}
	if s.TotalMs != 410 || s.CriuMs != 86.5 || s.OverheadMs != 410-86.5 {
		t.Errorf("times: total %v criu %v overhead %v", s.TotalMs, s.CriuMs, s.OverheadMs)
	}
	s.ImageBytes = 212 << 20
	if got, want := s.Summary(), "checkpointed web1: 212.0 MiB in 0.41 s (frozen 86 ms) -> "+dir; got != want {
		t.Errorf("summary\n got %q\nwant %q", got, want)
	}
	table := s.Table()
	for _, want := range []string{"freezing time    1.500 ms\n", "frozen time      85.000 ms\n", "pages written    40\n",
		"pages skipped    1\n", "image size       212.0 MiB\n", "mycr overhead    323.500 ms\n"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	f := s.Fields()
	if f["frozen_ms"] != 85.0 || f["pages_written"] != 40.0 || f["op"] != "checkpoint" {
		t.Errorf("log fields: %v", f)
	}
	if _, err := ReadRestoreStats("web1", dir, dir, time.Second); err == nil || !strings.Contains(err.Error(), "stats-restore") {
		t.Errorf("restore stats of a dump dir: %v", err)
	}
}

func TestReadStatsCorrupt(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(fixtureDir(t), "stats-dump"))
	if err != nil {
		t.Fatal(err)
	}
	for _, data := range [][]byte{nil, good[:4], good[:8], good[:len(good)-1], append(good[:8:8], 0xff, 0xff, 0xff, 0x7f)} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "stats-dump"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := ReadDumpStats("x", dir, dir, time.Second)
		if err == nil || !strings.Contains(err.Error(), "stats-dump") || strings.Contains(err.Error(), "are corrupt (reading") {
			t.Errorf("%d bytes of stats-dump: %v", len(data), err)
		}
	}
}

func TestStatsTime(t *testing.T) {
	dir := fixtureDir(t)
	when := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(filepath.Join(dir, "stats-dump"), when, when); err != nil {
		t.Fatal(err)
	}
	if got, err := StatsTime(dir, "checkpoint"); err != nil || !got.Equal(when) {
		t.Errorf("StatsTime = %v, %v; want %v", got, err, when)
	}
	if _, err := StatsTime(dir, "restore"); err == nil {
		t.Error("StatsTime of a missing stats-restore succeeded")
	}
}

func TestRestoreSummary(t *testing.T) {
	s := &Stats{Op: "restore", ID: "web2", Dir: "/cp", RestoreMs: 120.4, ImageBytes: 1536, TotalMs: 300}
	if got, want := s.Summary(), "restored web2: 1.5 KiB in 0.30 s (CRIU restore 120 ms) <- /cp"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !strings.Contains(s.Table(), "restore time     120.400 ms") {
		t.Errorf("table:\n%s", s.Table())
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 212 << 20: "212.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := HumanBytes(n); got != want {
			t.Errorf("HumanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
