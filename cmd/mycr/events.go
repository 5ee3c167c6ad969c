package main

import (
	"encoding/json"
	"errors"
	"os"
	"time"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/types"
	"github.com/urfave/cli/v2"
)

var eventsCommand = &cli.Command{
	Name:      "events",
	Usage:     "print container stats (and OOM events) as JSON lines",
	ArgsUsage: "<container-id>",
	Flags: []cli.Flag{
		&cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "time between stats"},
		&cli.BoolFlag{Name: "stats", Usage: "print stats once and exit"},
	},
	Action: func(c *cli.Context) error {
		ctr, err := loadContainer(c)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(os.Stdout)
		emitStats := func() error {
			st, err := ctr.Stats()
			if err != nil {
				return err
			}
			return enc.Encode(types.Event{Type: "stats", ID: ctr.ID(), Data: convertStats(st)})
		}
		if c.Bool("stats") {
			return emitStats()
		}
		if c.Duration("interval") <= 0 {
			return errors.New("--interval must be greater than 0")
		}
		oom, err := ctr.NotifyOOM()
		if err != nil {
			oom = nil // no OOM notifications on this cgroup setup; stats still flow
		}
		tick := time.NewTicker(c.Duration("interval"))
		defer tick.Stop()
		for {
			select {
			case _, ok := <-oom:
				if !ok {
					oom = nil
					continue
				}
				_ = enc.Encode(types.Event{Type: "oom", ID: ctr.ID()})
			case <-tick.C:
				if st, err := ctr.Status(); err != nil || st == libcontainer.Stopped {
					return err
				}
				if err := emitStats(); err != nil {
					return err
				}
			}
		}
	},
}

// convertStats maps libcontainer's cgroup stats onto runc's event schema (cpu, memory, pids).
func convertStats(s *libcontainer.Stats) *types.Stats {
	out := &types.Stats{}
	if s == nil || s.CgroupStats == nil {
		return out
	}
	cg := s.CgroupStats
	u := cg.CpuStats.CpuUsage
	out.CPU.Usage = types.CpuUsage{Total: u.TotalUsage, Percpu: u.PercpuUsage, Kernel: u.UsageInKernelmode, User: u.UsageInUsermode}
	t := cg.CpuStats.ThrottlingData
	out.CPU.Throttling = types.Throttling{Periods: t.Periods, ThrottledPeriods: t.ThrottledPeriods, ThrottledTime: t.ThrottledTime}
	out.Memory = types.Memory{
		Cache:  cg.MemoryStats.Cache,
		Usage:  memEntry(cg.MemoryStats.Usage),
		Swap:   memEntry(cg.MemoryStats.SwapUsage),
		Kernel: memEntry(cg.MemoryStats.KernelUsage),
		Raw:    cg.MemoryStats.Stats,
	}
	out.Pids = types.Pids{Current: cg.PidsStats.Current, Limit: cg.PidsStats.Limit}
	return out
}

func memEntry(m cgroups.MemoryData) types.MemoryEntry {
	return types.MemoryEntry{Limit: m.Limit, Usage: m.Usage, Max: m.MaxUsage, Failcnt: m.Failcnt}
}
