package main

import (
	"strings"
	"testing"

	"github.com/mycr/mycr/criu/image"
)

func TestCheckpointSummary(t *testing.T) {
	dir := "/cp"
	s := &image.Stats{Op: "checkpoint", ID: "web1", Dir: dir, FreezingMs: 1.5, FrozenMs: 85, PagesWritten: 40, PagesSkipped: 1,
		TotalMs: 410, CriuMs: 86.5, OverheadMs: 410 - 86.5}
	s.ImageBytes = 212 << 20
	if got, want := statsSummary(s), "checkpointed web1: 212MiB in 0.41 s (frozen 86 ms) -> "+dir; got != want {
		t.Errorf("summary\n got %q\nwant %q", got, want)
	}
	table := statsTable(s)
	for _, want := range []string{"freezing time    1.500 ms\n", "frozen time      85.000 ms\n", "pages written    40\n",
		"pages skipped    1\n", "image size       212MiB\n", "mycr overhead    323.500 ms\n"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	f := statsFields(s)
	if f["frozen_ms"] != 85.0 || f["pages_written"] != 40.0 || f["op"] != "checkpoint" {
		t.Errorf("log fields: %v", f)
	}
}

func TestRestoreSummary(t *testing.T) {
	s := &image.Stats{Op: "restore", ID: "web2", Dir: "/cp", RestoreMs: 120.4, ImageBytes: 1536, TotalMs: 300}
	if got, want := statsSummary(s), "restored web2: 1.5KiB in 0.30 s (CRIU restore 120 ms) <- /cp"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !strings.Contains(statsTable(s), "restore time     120.400 ms") {
		t.Errorf("table:\n%s", statsTable(s))
	}
}
