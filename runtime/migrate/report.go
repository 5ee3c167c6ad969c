package migrate

import (
	"fmt"
	"time"

	"github.com/docker/go-units"
)

// Report says what a migration did and cost.
type Report struct {
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
	// CRIU's own timings: stats-dump's frozen_time, or in lazy mode the same
	// span read from dump.log (CriuFrozenFrom), since CRIU 4.2 wipes a lazy
	// dump's stats. In lazy mode the source is held frozen until the last page
	// has moved, so criu_frozen_ms covers the whole post-copy phase while the
	// target already runs, and criu_dump_ready_ms is the dump's share of the
	// downtime (frozen until its page server listened); in stop-and-copy
	// criu_frozen_ms is the dump's share. criu_restore_ms is stats-restore's.
	CriuFrozenMs    float64 `json:"criu_frozen_ms"`
	CriuFrozenFrom  string  `json:"criu_frozen_from,omitempty"`
	CriuDumpReadyMs float64 `json:"criu_dump_ready_ms,omitempty"`
	CriuFreezingMs  float64 `json:"criu_freezing_ms"`
	CriuMemdumpMs   float64 `json:"criu_memdump_ms"`
	CriuRestoreMs   float64 `json:"criu_restore_ms"`
	PagesWritten    uint64  `json:"pages_written"` // pages in the dumped images
	PagesLazy       uint64  `json:"pages_lazy"`    // pages left for post-copy
	TotalMs         float64 `json:"total_ms"`
	ImageBytes      int64   `json:"image_bytes"` // image files copied to the target
	// StreamedBytes: of those, the pages image sent while CRIU still dumped
	// (stop-and-copy to another host: the send overlaps the dump).
	StreamedBytes int64 `json:"streamed_bytes,omitempty"`
	PageBytes     int64 `json:"page_bytes"` // memory pages streamed after the switch
	BytesMoved    int64 `json:"bytes_moved"`
	// Host is the ssh:// target of a migration to another host; WireBytes
	// what crossed the ssh stream (frames of images, pages and control);
	// Runs which side runs the container: "target", or after a failure
	// "source" (or "none" if the source could not be resumed either), with
	// Error saying why.
	Host         string `json:"host,omitempty"`
	WireBytes    int64  `json:"wire_bytes,omitempty"`
	Channel      string `json:"channel,omitempty"` // what carried images and pages: tls (direct) or ssh
	Runs         string `json:"runs,omitempty"`
	Error        string `json:"error,omitempty"`
	SourceImages string `json:"source_images,omitempty"` // kept image dirs, if any
	TargetImages string `json:"target_images,omitempty"`
}

// Line is the one-line summary `mycr migrate` prints.
func (m *Report) Line() string {
	s := fmt.Sprintf("migrated %s -> %s (%s): frozen %s, total %s, moved %s (images %s + pages %s)",
		m.ID, m.TargetID, m.Mode, fmtMs(m.FrozenMs), fmtMs(m.TotalMs), units.BytesSize(float64(m.BytesMoved)), units.BytesSize(float64(m.ImageBytes)), units.BytesSize(float64(m.PageBytes)))
	switch {
	case m.Mode == Lazy && m.CriuFrozenMs > 0:
		s += fmt.Sprintf(" [CRIU: dump ready after %s, restore %s; source held frozen %s until the last page moved]",
			fmtMs(m.CriuDumpReadyMs), fmtMs(m.CriuRestoreMs), fmtMs(m.CriuFrozenMs))
	case m.CriuFrozenMs > 0:
		s += fmt.Sprintf(" [CRIU: frozen_time %s, restore %s]", fmtMs(m.CriuFrozenMs), fmtMs(m.CriuRestoreMs))
	}
	return s
}

func fmtMs(ms float64) string {
	if ms >= 1000 {
		return fmt.Sprintf("%.2fs", ms/1000)
	}
	return fmt.Sprintf("%.0fms", ms)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
