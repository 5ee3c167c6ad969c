package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/docker/go-units"

	"github.com/mycr/mycr/criu/image"
)

// statsFields are the statistics as log fields (the JSON names).
func statsFields(s *image.Stats) map[string]any {
	b, _ := json.Marshal(s)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// statsSummary is the one line for a person: "checkpointed web1: 212MiB in 0.41 s (frozen 85 ms) -> /path".
func statsSummary(s *image.Stats) string {
	verb := "checkpointed"
	detail := fmt.Sprintf("frozen %.0f ms", s.FreezingMs+s.FrozenMs)
	if s.Op == "restore" {
		verb, detail = "restored", fmt.Sprintf("CRIU restore %.0f ms", s.RestoreMs)
	}
	arrow := "->"
	if s.Op == "restore" {
		arrow = "<-"
	}
	return fmt.Sprintf("%s %s: %s in %.2f s (%s) %s %s", verb, s.ID, units.BytesSize(float64(s.ImageBytes)), s.TotalMs/1000, detail, arrow, s.Dir)
}

// statsTable is the --print-stats text: one statistic per line.
func statsTable(s *image.Stats) string {
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
	row("image size", units.BytesSize(float64(s.ImageBytes)))
	row("total time", fmt.Sprintf("%.3f ms", s.TotalMs))
	row("mycr overhead", fmt.Sprintf("%.3f ms", s.OverheadMs))
	return b.String()
}
