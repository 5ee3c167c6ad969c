package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// archiveVariants: a plain checkpoint to a directory, then the same with
// --export to one archive per compression and zstd level (1 fastest, 3 default, 7, 19).
var archiveVariants = []string{"directory", "none", "gzip", "zstd:1", "zstd", "zstd:7", "zstd:19"}

// archive: checkpoint --export FILE --compress C and restore --import FILE of a
// memhog container whose pages are ArcFill % random, next to the plain
// checkpoint/restore through an image directory; everything on disk.
func (b *Bench) archive() error {
	for _, size := range b.ArcSizes {
		bundle, err := b.memBundle(size, b.ArcFill)
		if err != nil {
			return err
		}
		t := time.Now()
		for i := 0; i < b.MemRuns; i++ {
			for _, v := range rotate(archiveVariants, i) {
				if err := b.archiveOnce(size, v, bundle, i); err != nil {
					logf("archive %d MiB %s: %v", size, v, err)
					b.res.get("archive", "checkpoint", v, size, "").fail(err)
				}
			}
		}
		logf("archive %d MiB: %d rounds in %.0f s", size, b.MemRuns, time.Since(t).Seconds())
	}
	b.res.Settings["archive_fill"] = fmt.Sprint(b.ArcFill)
	return nil
}

func (b *Bench) archiveOnce(size int, variant, bundle string, i int) error {
	r := b.mycr
	id := r.id(fmt.Sprintf("arc%d%s%d", size, strings.ReplaceAll(variant, ":", ""), i))
	pid, err := b.startMemhog(r, bundle, id)
	if err != nil {
		return err
	}
	dir := filepath.Join(b.diskDir, "arc-"+id)
	defer os.RemoveAll(dir)
	// checkpoint --export wants the archive's directory to exist (img is made by mycr).
	if err := os.MkdirAll(dir, 0o700); err != nil {
		r.remove(id, pid)
		return err
	}
	img, file := filepath.Join(dir, "img"), filepath.Join(dir, "ckpt.tar")
	var export []string
	if variant != "directory" {
		export = []string{"--export", file, "--compress", variant}
	}
	syncDisk("disk")
	b.warmMemory(size + 64)
	res, err := r.checkpoint(id, img, export...)
	if err != nil {
		r.remove(id, pid)
		return err
	}
	_ = waitOrphan(pid, time.Minute)
	raw := imageBytes(img)
	ck := b.res.get("archive", "checkpoint", variant, size, "")
	ck.add(res.Ms())
	b.res.get("archive", "image", variant, size, "").addBytes(raw)
	rest := []string{"--image-path", img}
	if variant != "directory" {
		fi, err := os.Stat(file)
		if err != nil {
			return err
		}
		ck.addBytes(fi.Size())
		os.RemoveAll(img) // the restore must use the archive only
		rest = []string{"--import", file}
	} else {
		ck.addBytes(raw)
	}
	syncDisk("disk")
	b.warmMemory(size + 64)
	pidFile := filepath.Join(b.Work, "pids", id+".restored")
	res, err = r.exec(true, append(append([]string{"restore", "-d", "--bundle", bundle, "--pid-file", pidFile}, rest...), id)...)
	pid2, _ := readPid(pidFile)
	defer r.remove(id, pid2)
	if err != nil {
		return err
	}
	if !memhogAlive(pid2, size) {
		return fmt.Errorf("restored memhog (pid %d) is not running with %d MiB", pid2, size)
	}
	b.res.get("archive", "restore", variant, size, "").add(res.Ms())
	return nil
}

// archiveTable renders section 6.
func (m *mdWriter) archive() {
	m.p("## 6. Archive export/import")
	m.p("")
	m.p("`mycr checkpoint --export FILE --compress none|gzip|zstd[:LEVEL]` and `mycr restore --import FILE` of a container")
	m.p("running memhog with N MiB touched, %s %% of every page pseudo-random and the rest zeros (so the images", m.res.Settings["archive_fill"])
	m.p("compress about 2:1, like typical process memory), next to the plain checkpoint/restore through an image")
	m.p("directory (*directory*), variants alternating. Everything on disk. One row per compression and zstd")
	m.p("level (`zstd` = its default level 3). *Extra* is the median time over the plain directory's; the throughput is the raw image")
	m.p("size divided by that extra time (how fast mycr packs or unpacks).")
	m.p("")
	m.p("| MiB | variant | checkpoint (+ export) | restore (+ import) | size | size / raw | export extra | import extra | export MiB/s | import MiB/s |")
	m.p("|---|---|---|---|---|---|---|---|---|---|")
	for _, size := range m.b.ArcSizes {
		base := func(op string) *Series { return m.res.find("archive", op, "directory", size, "") }
		raw := m.res.find("archive", "image", "directory", size, "").medBytes()
		for _, v := range archiveVariants {
			ck, rs := m.res.find("archive", "checkpoint", v, size, ""), m.res.find("archive", "restore", v, size, "")
			extra := func(s *Series, op string) (string, string) {
				if v == "directory" || !s.ok() || !base(op).ok() {
					return "–", "–"
				}
				d := s.med() - base(op).med()
				if d <= 0 {
					return fmt.Sprintf("%+.0f ms", d), "–"
				}
				return fmt.Sprintf("%+.0f ms", d), fmt.Sprintf("%.0f", raw/(1<<20)/(d/1000))
			}
			ex, exT := extra(ck, "checkpoint")
			im, imT := extra(rs, "restore")
			ck0 := cell(ck)
			if ck != nil && len(ck.Errors) > 0 {
				ck0 += fmt.Sprintf(" (%d failed: %s)", len(ck.Errors), shortErr(ck.Errors[0]))
			}
			m.p("| %d | %s | %s | %s | %s | %.2f | %s | %s | %s | %s |", size, v, ck0, cell(rs), fmtBytes(ck.medBytes()), ck.medBytes()/raw, ex, im, exT, imT)
		}
	}
	m.p("")
	var labels []string
	var series [][]*Series
	for _, size := range m.b.ArcSizes {
		for _, op := range []string{"checkpoint", "restore"} {
			labels = append(labels, fmt.Sprintf("%s %d MiB", op, size))
			var row []*Series
			for _, v := range archiveVariants {
				row = append(row, m.res.find("archive", op, v, size, ""))
			}
			series = append(series, row)
		}
	}
	if img := m.plot("archive.png", clusteredPlot("Checkpoint + export and import + restore (median, min-max)", "ms", barData("D", labels, series), archiveVariants)); img != "" {
		m.p("%s", img)
		m.p("")
	}
}
