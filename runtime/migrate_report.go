package runtime

import "fmt"

// MigrateReport says what a migration did and cost.
type MigrateReport struct {
	ID             string `json:"id"`
	TargetID       string `json:"target_id"`
	TargetRoot     string `json:"target_root"`
	TargetPid      int    `json:"target_pid"`
	Mode           string `json:"mode"`
	FallbackReason string `json:"fallback_reason,omitempty"`
	// FrozenMs is the downtime mycr measured: from the source's freezer cgroup
	// turning FREEZING to the target's restore having resumed the processes
	// (FrozenFrom says "dump-start" when the freeze could not be observed).
	FrozenMs   float64 `json:"frozen_ms"`
	FrozenFrom string  `json:"frozen_from"`
	// CRIU's own timings (stats-dump, stats-restore). In lazy mode the source is
	// held frozen until the last page has moved, so criu_frozen_ms covers the
	// whole post-copy phase while the target already runs; in stop-and-copy
	// it is the dump's share of the downtime.
	CriuFrozenMs   float64 `json:"criu_frozen_ms"`
	CriuFreezingMs float64 `json:"criu_freezing_ms"`
	CriuMemdumpMs  float64 `json:"criu_memdump_ms"`
	CriuRestoreMs  float64 `json:"criu_restore_ms"`
	PagesWritten   uint64  `json:"pages_written"` // pages in the dumped images
	PagesLazy      uint64  `json:"pages_lazy"`    // pages left for post-copy
	TotalMs        float64 `json:"total_ms"`
	ImageBytes     int64   `json:"image_bytes"` // image files copied to the target
	PageBytes      int64   `json:"page_bytes"`  // memory pages streamed after the switch
	BytesMoved     int64   `json:"bytes_moved"`
	SourceImages   string  `json:"source_images,omitempty"` // kept image dirs, if any
	TargetImages   string  `json:"target_images,omitempty"`
}

// Line is the one-line summary `mycr migrate` prints.
func (m *MigrateReport) Line() string {
	s := fmt.Sprintf("migrated %s -> %s (%s): frozen %s, total %s, moved %s (images %s + pages %s)",
		m.ID, m.TargetID, m.Mode, fmtMs(m.FrozenMs), fmtMs(m.TotalMs), fmtBytes(m.BytesMoved), fmtBytes(m.ImageBytes), fmtBytes(m.PageBytes))
	if m.CriuFrozenMs > 0 {
		what := "CRIU frozen_time"
		if m.Mode == MigrateLazy {
			what += ", source held until the last page moved"
		}
		s += fmt.Sprintf(" [%s %s, restore %s]", what, fmtMs(m.CriuFrozenMs), fmtMs(m.CriuRestoreMs))
	}
	return s
}

func fmtMs(ms float64) string {
	if ms >= 1000 {
		return fmt.Sprintf("%.2fs", ms/1000)
	}
	return fmt.Sprintf("%.0fms", ms)
}

func fmtBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
