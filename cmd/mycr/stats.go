package main

import (
	"fmt"
	"os"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/mycr/mycr/criu/image"
	"github.com/mycr/mycr/runtime"
)

var printStatsFlag = &cli.BoolFlag{Name: "print-stats", Usage: "print CRIU's statistics and mycr's overhead after the operation"}

// reportStats shows CRIU's statistics of a finished checkpoint or restore:
// the table with --print-stats (also as a JSON log entry with --log-format json),
// else one summary line, only for a person at a terminal: daemons parsing our
// output see exactly what runc prints.
func reportStats(c *cli.Context, op, id string, o *libcontainer.CriuOpts, start time.Time) {
	want := c.Bool("print-stats")
	foreground := op == "restore" && !c.Bool("detach") // the container has run and exited by now
	if !want && (foreground || !isTerminal(os.Stderr)) {
		return
	}
	dir := o.WorkDirectory
	if dir == "" {
		dir = o.ImagesDirectory
	}
	end := time.Now()
	if foreground {
		if t, err := image.StatsTime(dir, op); err == nil {
			end = t
		}
	}
	read := image.ReadDumpStats
	if op == "restore" {
		read = image.ReadRestoreStats
	}
	s, err := read(id, dir, o.ImagesDirectory, end.Sub(start))
	if err != nil {
		if want {
			logrus.Warnf("no statistics: %v", err)
		}
		return
	}
	if !want {
		fmt.Fprintln(os.Stderr, statsSummary(s))
		return
	}
	fmt.Fprint(c.App.Writer, statsTable(s))
	if c.String("log-format") == "json" {
		logrus.WithFields(statsFields(s)).Info("criu statistics")
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
	return startProgress(os.Stderr, "checkpoint "+id, o.ImagesDirectory, expectedImage(r, id))
}

// expectedImage guesses the size of a checkpoint from the container's memory:
// CRIU dumps anonymous and shared memory, not the page cache the cgroup's
// usage also counts (cgroup v1 total_rss + total_shmem, v2 anon + shmem).
func expectedImage(r *runtime.Root, id string) int64 {
	ctr, err := r.Load(id)
	if err != nil {
		return 0
	}
	st, err := ctr.Stats()
	if err != nil || st.CgroupStats == nil {
		return 0
	}
	m := st.CgroupStats.MemoryStats
	for _, keys := range [][2]string{{"total_rss", "total_shmem"}, {"anon", "shmem"}} {
		anon, ok := m.Stats[keys[0]]
		if ok {
			return int64(anon + m.Stats[keys[1]])
		}
	}
	return int64(m.Usage.Usage)
}
