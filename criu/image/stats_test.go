package image

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
	if s.ImageBytes != DirBytes(dir) || s.ImageBytes == 0 {
		t.Errorf("image size %d, dir holds %d", s.ImageBytes, DirBytes(dir))
	}
	if s.TotalMs != 410 || s.CriuMs != 86.5 || s.OverheadMs != 410-86.5 {
		t.Errorf("times: total %v criu %v overhead %v", s.TotalMs, s.CriuMs, s.OverheadMs)
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
