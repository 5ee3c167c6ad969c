package image

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/checkpoint-restore/go-criu/v7/crit"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/stats"
)

// Stats are CRIU's own timings of one dump or restore (from its stats-dump or
// stats-restore file, read with go-criu) plus what mycr measured around it.
type Stats struct {
	Op            string  `json:"op"` // "checkpoint" or "restore"
	ID            string  `json:"id"`
	Dir           string  `json:"dir"`
	FreezingMs    float64 `json:"freezing_ms,omitempty"`
	FrozenMs      float64 `json:"frozen_ms,omitempty"`
	MemdumpMs     float64 `json:"memdump_ms,omitempty"`
	MemwriteMs    float64 `json:"memwrite_ms,omitempty"`
	PagesScanned  uint64  `json:"pages_scanned,omitempty"`
	PagesWritten  uint64  `json:"pages_written,omitempty"`
	PagesSkipped  uint64  `json:"pages_skipped_parent,omitempty"`
	PagesLazy     uint64  `json:"pages_lazy,omitempty"`
	ForkingMs     float64 `json:"forking_ms,omitempty"`
	RestoreMs     float64 `json:"restore_ms,omitempty"`
	PagesRestored uint64  `json:"pages_restored,omitempty"`
	ImageBytes    int64   `json:"image_bytes"`
	TotalMs       float64 `json:"total_ms"`
	CriuMs        float64 `json:"criu_ms"`     // CRIU's share of TotalMs, as CRIU counts it
	OverheadMs    float64 `json:"overhead_ms"` // the rest: mycr, libcontainer, process starts
}

func usToMs(us uint32) float64 { return float64(us) / 1000 }

// ReadDumpStats reads CRIU's stats-dump in statsDir (the work dir, else the image
// dir) and completes it with the image size and the wall time of the whole command.
func ReadDumpStats(id, statsDir, imageDir string, total time.Duration) (*Stats, error) {
	e, err := readStats(statsDir, crit.StatsDump, (*stats.StatsEntry).GetDump)
	if err != nil {
		return nil, err
	}
	s := &Stats{Op: "checkpoint", ID: id, Dir: imageDir,
		FreezingMs: usToMs(e.GetFreezingTime()), FrozenMs: usToMs(e.GetFrozenTime()),
		MemdumpMs: usToMs(e.GetMemdumpTime()), MemwriteMs: usToMs(e.GetMemwriteTime()),
		PagesScanned: e.GetPagesScanned(), PagesWritten: e.GetPagesWritten(),
		PagesSkipped: e.GetPagesSkippedParent(), PagesLazy: e.GetPagesLazy()}
	s.CriuMs = s.FreezingMs + s.FrozenMs
	s.finish(imageDir, total)
	return s, nil
}

// ReadRestoreStats reads CRIU's stats-restore, like ReadDumpStats.
func ReadRestoreStats(id, statsDir, imageDir string, total time.Duration) (*Stats, error) {
	e, err := readStats(statsDir, crit.StatsRestore, (*stats.StatsEntry).GetRestore)
	if err != nil {
		return nil, err
	}
	s := &Stats{Op: "restore", ID: id, Dir: imageDir, ForkingMs: usToMs(e.GetForkingTime()),
		RestoreMs: usToMs(e.GetRestoreTime()), PagesRestored: e.GetPagesRestored()}
	s.CriuMs = s.RestoreMs
	s.finish(imageDir, total)
	return s, nil
}

// readStats decodes CRIU's stats file name in dir (go-criu's own stats reader
// panics on an empty file) and picks its dump or restore part.
func readStats[T any](dir, name string, part func(*stats.StatsEntry) *T) (_ *T, err error) {
	im := newImages(dir)
	defer func() { recoverCorrupt(im, recover(), &err) }()
	e, err := decodeOne(im, name, &stats.StatsEntry{})
	if err == nil && part(e) == nil {
		err = fmt.Errorf("%s holds no statistics of this kind", name)
	}
	if err != nil {
		return nil, fmt.Errorf("read CRIU statistics in %s: %w", dir, err)
	}
	return part(e), nil
}

func (s *Stats) finish(imageDir string, total time.Duration) {
	s.ImageBytes = DirBytes(imageDir)
	s.TotalMs = float64(total.Microseconds()) / 1000
	s.OverheadMs = max(0, s.TotalMs-s.CriuMs)
}

// DirBytes is the size of the regular files under dir.
func DirBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// StatsTime is when CRIU wrote its stats file for op ("checkpoint" or
// "restore") in dir: the end of CRIU's work, for a command that went on
// afterwards (a foreground restore waits for the container to exit).
func StatsTime(dir, op string) (time.Time, error) {
	name := crit.StatsDump
	if op == "restore" {
		name = crit.StatsRestore
	}
	st, err := os.Stat(filepath.Join(dir, name))
	if err != nil {
		return time.Time{}, err
	}
	return st.ModTime(), nil
}
