package criu

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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
	s.ImageBytes = dirBytes(imageDir)
	s.TotalMs = float64(total.Microseconds()) / 1000
	s.OverheadMs = max(0, s.TotalMs-s.CriuMs)
}

func dirBytes(dir string) int64 {
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

// Fields are the statistics as log fields (the JSON names).
func (s *Stats) Fields() map[string]any {
	b, _ := json.Marshal(s)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// Summary is the one line for a person: "checkpointed web1: 212 MiB in 0.41 s (frozen 85 ms) -> /path".
func (s *Stats) Summary() string {
	verb := "checkpointed"
	detail := fmt.Sprintf("frozen %.0f ms", s.FreezingMs+s.FrozenMs)
	if s.Op == "restore" {
		verb, detail = "restored", fmt.Sprintf("CRIU restore %.0f ms", s.RestoreMs)
	}
	arrow := "->"
	if s.Op == "restore" {
		arrow = "<-"
	}
	return fmt.Sprintf("%s %s: %s in %.2f s (%s) %s %s", verb, s.ID, HumanBytes(s.ImageBytes), s.TotalMs/1000, detail, arrow, s.Dir)
}

// Table is the --print-stats text: one statistic per line.
func (s *Stats) Table() string {
	var b strings.Builder
	row := func(name string, v any) { fmt.Fprintf(&b, "%-16s %v\n", name, v) }
	if s.Op == "checkpoint" {
		row("freezing time", fmt.Sprintf("%.3f ms", s.FreezingMs))
		row("frozen time", fmt.Sprintf("%.3f ms", s.FrozenMs))
		row("memdump time", fmt.Sprintf("%.3f ms", s.MemdumpMs))
		row("memwrite time", fmt.Sprintf("%.3f ms", s.MemwriteMs))
		row("pages scanned", s.PagesScanned)
		row("pages written", s.PagesWritten)
		row("pages skipped", s.PagesSkipped)
		row("pages lazy", s.PagesLazy)
	} else {
		row("forking time", fmt.Sprintf("%.3f ms", s.ForkingMs))
		row("restore time", fmt.Sprintf("%.3f ms", s.RestoreMs))
		row("pages restored", s.PagesRestored)
	}
	row("image size", HumanBytes(s.ImageBytes))
	row("total time", fmt.Sprintf("%.3f ms", s.TotalMs))
	row("mycr overhead", fmt.Sprintf("%.3f ms", s.OverheadMs))
	return b.String()
}

// HumanBytes is n in B, KiB, MiB...
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
