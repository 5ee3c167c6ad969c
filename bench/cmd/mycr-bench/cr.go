package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// crVariant is one way to checkpoint and restore a container.
type crVariant struct {
	Name      string // as shown in tables
	RT        *rt    // nil: bare criu
	Bundle    string
	Ckpt      []string // extra checkpoint flags
	Rest      []string // extra restore flags
	Tag       string   // ID part
	Breakdown bool     // trace and break down
}

// checkpointRestore: idle and busy busybox containers, every variant once per
// round, the order rotating from round to round.
func (b *Bench) checkpointRestore() error {
	idle := []crVariant{
		{Name: "mycr", RT: b.mycr, Bundle: b.bSleep, Tag: "i", Breakdown: true},
		{Name: "runc", RT: b.runc, Bundle: b.bSleep, Tag: "i", Breakdown: true},
		{Name: "criu", Bundle: b.bSleep, Tag: "i", Breakdown: true},
		{Name: "mycr --empty-ns network", RT: b.mycr, Bundle: b.bSleep, Tag: "e",
			Ckpt: []string{"--empty-ns", "network"}, Rest: []string{"--empty-ns", "network"}, Breakdown: true},
		{Name: "mycr + network-lock skip", RT: b.mycr, Bundle: b.bCRIUConf, Tag: "n", Breakdown: true},
		{Name: "runc + network-lock skip", RT: b.runc, Bundle: b.bCRIUConf, Tag: "n", Breakdown: true},
	}
	if b.crun != nil && b.crun.CanCR {
		idle = append(idle, crVariant{Name: "crun", RT: b.crun, Bundle: b.bSleep, Tag: "i"})
	}
	busy := []crVariant{
		{Name: "mycr", RT: b.mycr, Bundle: b.bBusy, Tag: "b"},
		{Name: "runc", RT: b.runc, Bundle: b.bBusy, Tag: "b"},
		{Name: "criu", Bundle: b.bBusy, Tag: "b"},
	}
	if b.crun != nil && b.crun.CanCR {
		busy = append(busy, crVariant{Name: "crun", RT: b.crun, Bundle: b.bBusy, Tag: "b"})
	}
	for i := -1; i < b.Runs; i++ {
		for _, v := range rotate(idle, i+1) {
			b.crCycle("cr-idle", v, i)
		}
		for _, v := range rotate(busy, i+1) {
			b.crCycle("cr-busy", v, i)
		}
	}
	return nil
}

// crCycle starts a container (not timed), checkpoints it, restores it, removes it.
// Round -1 is a warm-up and records nothing but the loopback check.
func (b *Bench) crCycle(group string, v crVariant, i int) {
	starter := v.RT
	if starter == nil {
		starter = b.criu.Runc
	}
	id := starter.id(fmt.Sprintf("%s%d", v.Tag, i+1))
	pidDir := filepath.Join(b.Work, "pids")
	img := filepath.Join(b.Work, "img", id)
	defer os.RemoveAll(img)
	ck := b.res.get(group, "checkpoint", v.Name, 0, "")
	rs := b.res.get(group, "restore", v.Name, 0, "")
	record := i >= 0
	_, pid, err := starter.runDetached(v.Bundle, id, filepath.Join(pidDir, id))
	if err != nil {
		logf("%s %s: start: %v", group, v.Name, err)
		if record {
			ck.fail(err)
		}
		_, _ = starter.delete(id, true)
		return
	}
	sleepMs(200) // let it settle (the busy one spins)
	var res Result
	var evs []procEvent
	if v.RT != nil {
		res, evs, err = b.traced(func() (Result, error) { return v.RT.checkpoint(id, img, v.Ckpt...) })
	} else {
		res, evs, err = b.traced(func() (Result, error) { return b.criu.dump(pid, img) })
	}
	if err != nil {
		logf("%s %s: checkpoint: %v", group, v.Name, err)
		if record {
			ck.fail(err)
		}
		starter.remove(id, pid)
		return
	}
	_ = waitOrphan(pid, 10*time.Second) // CRIU killed it; we reap it
	if record {
		ck.add(res.Ms())
		ck.addBytes(imageBytes(img))
		if v.Breakdown && group == "cr-idle" {
			b.crPhases("checkpoint", v.Name, res, evs, filepath.Join(img, "dump.log"))
		} else if group == "cr-busy" {
			b.crPhases("checkpoint (busy)", v.Name, res, evs, filepath.Join(img, "dump.log"))
		}
	}
	restPid := filepath.Join(pidDir, id+".restored")
	var pid2 int
	if v.RT != nil {
		res, evs, err = b.traced(func() (Result, error) {
			r, p, err := v.RT.restore(v.Bundle, id, img, restPid, v.Rest...)
			pid2 = p
			return r, err
		})
	} else {
		res, evs, err = b.traced(func() (Result, error) {
			r, p, err := b.criu.restore(b.rootfs, img, restPid)
			pid2 = p
			return r, err
		})
	}
	if err == nil && pid2 > 0 {
		sleepMs(2)
		if st, e := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid2)); e != nil || strings.Contains(string(st), ") Z ") {
			err = fmt.Errorf("restored process %d is not running", pid2)
		}
	}
	if err != nil {
		logf("%s %s: restore: %v", group, v.Name, err)
		if record {
			rs.fail(err)
		}
		starter.remove(id, pid2)
		return
	}
	if record {
		rs.add(res.Ms())
		if v.Breakdown && group == "cr-idle" {
			b.crPhases("restore", v.Name, res, evs, filepath.Join(img, "restore.log"))
		}
	} else if group == "cr-idle" {
		if st, err := loopbackState(pid2); err == nil {
			b.res.Facts["loopback after restore: "+v.Name] = st
		}
	}
	starter.remove(id, pid2)
}

// imageBytes is the size of the CRIU image files (logs and stats excluded).
func imageBytes(dir string) int64 {
	var n int64
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".log") || strings.HasPrefix(e.Name(), "stats-") {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
	}
	return n
}
