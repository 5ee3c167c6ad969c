package main

import (
	"fmt"
	"os"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/mycr/mycr/criu"
	"github.com/mycr/mycr/runtime"
)

var printStatsFlag = &cli.BoolFlag{Name: "print-stats", Usage: "print CRIU's statistics and mycr's overhead after the operation"}

// reportStats shows CRIU's statistics of a finished checkpoint or restore:
// the table with --print-stats (also as a JSON log entry with --log-format json),
// else one summary line, only for a person at a terminal: daemons parsing our
// output see exactly what runc prints.
func reportStats(c *cli.Context, op, id string, o *libcontainer.CriuOpts, start time.Time) {
	want := c.Bool("print-stats")
	if !want && !isTerminal(os.Stderr) {
		return
	}
	dir := o.WorkDirectory
	if dir == "" {
		dir = o.ImagesDirectory
	}
	read := criu.ReadDumpStats
	if op == "restore" {
		read = criu.ReadRestoreStats
	}
	s, err := read(id, dir, o.ImagesDirectory, time.Since(start))
	if err != nil {
		logrus.Debugf("no statistics: %v", err)
		return
	}
	if !want {
		fmt.Fprintln(os.Stderr, s.Summary())
		return
	}
	fmt.Fprint(c.App.Writer, s.Table())
	if c.String("log-format") == "json" {
		logrus.WithFields(logrus.Fields{"op": s.Op, "id": s.ID, "freezing_ms": s.FreezingMs, "frozen_ms": s.FrozenMs,
			"memdump_ms": s.MemdumpMs, "memwrite_ms": s.MemwriteMs, "pages_scanned": s.PagesScanned,
			"pages_written": s.PagesWritten, "pages_skipped_parent": s.PagesSkipped, "pages_lazy": s.PagesLazy,
			"restore_ms": s.RestoreMs, "image_bytes": s.ImageBytes, "total_ms": s.TotalMs,
			"overhead_ms": s.OverheadMs}).Info("criu statistics")
	}
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// showProgress draws a progress bar of a checkpoint on a terminal: bytes of
// images written against the container's memory use.
func showProgress(r *runtime.Root, id string, o *libcontainer.CriuOpts) (stop func()) {
	if !isTerminal(os.Stderr) {
		return func() {}
	}
	var expected int64
	if ctr, err := r.Load(id); err == nil {
		if st, err := ctr.Stats(); err == nil && st.CgroupStats != nil {
			expected = int64(st.CgroupStats.MemoryStats.Usage.Usage)
		}
	}
	return criu.StartProgress(os.Stderr, "checkpoint "+id, o.ImagesDirectory, expected)
}
