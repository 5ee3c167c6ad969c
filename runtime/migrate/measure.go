package migrate

import (
	"path/filepath"
	"time"

	"github.com/checkpoint-restore/go-criu/v7/crit"
	"github.com/checkpoint-restore/go-criu/v7/crit/images/stats"
	"github.com/sirupsen/logrus"
)

// measure fills the report's timings and CRIU statistics.
func (m *migration) measure() {
	frozenAt, from := m.freeze.stopAndGet()
	if frozenAt.IsZero() {
		frozenAt, from = m.dumpStart, "dump-start"
	}
	m.rep.FrozenMs, m.rep.FrozenFrom = ms(m.restoredAt.Sub(frozenAt)), from
	if m.rep.Mode == Lazy {
		if t, ok := readLazyDumpTimes(filepath.Join(m.srcDir, "dump.log")); ok {
			m.rep.CriuFrozenMs, m.rep.CriuDumpReadyMs, m.rep.CriuFrozenFrom = t.FrozenMs, t.ReadyMs, "dump.log"
		}
	} else if d, err := dumpStats(m.srcDir); err == nil {
		m.rep.CriuFrozenMs, m.rep.CriuFrozenFrom = float64(d.GetFrozenTime())/1000, "stats-dump"
		m.rep.CriuFreezingMs = float64(d.GetFreezingTime()) / 1000
		m.rep.CriuMemdumpMs = float64(d.GetMemdumpTime()) / 1000
		m.rep.PagesWritten, m.rep.PagesLazy = d.GetPagesWritten(), d.GetPagesLazy()
	} else {
		logrus.Debugf("no CRIU dump statistics: %v", err)
	}
	if rs, err := restoreStats(m.dstDir); err == nil {
		m.rep.CriuRestoreMs = float64(rs.GetRestoreTime()) / 1000
	}
}

// finish completes the report and removes the default image dirs.
func (m *migration) finish() {
	m.rep.BytesMoved = m.rep.ImageBytes + m.rep.PageBytes
	m.rep.TotalMs = ms(time.Since(m.start))
	if m.o.KeepImages || m.tempBase == "" {
		m.rep.SourceImages, m.rep.TargetImages = m.srcDir, m.dstDir
		return
	}
	m.removeTemp()
	if m.o.ImagePath != "" {
		m.rep.SourceImages = m.srcDir
	}
	if m.o.TargetImagePath != "" {
		m.rep.TargetImages = m.dstDir
	}
}

// go-criu's crit readers, not its stats package: both register stats.proto and clash.
func dumpStats(dir string) (*stats.DumpStatsEntry, error) { return crit.GetDumpStats(dir) }

func restoreStats(dir string) (*stats.RestoreStatsEntry, error) { return crit.GetRestoreStats(dir) }
