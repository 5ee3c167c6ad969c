package main

import (
	"fmt"
	"strconv"

	"github.com/docker/go-units"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
)

var updateCommand = &cli.Command{
	Name:      "update",
	Usage:     "update a container's resource limits",
	ArgsUsage: "<container-id>",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "resources", Aliases: []string{"r"}, Usage: "JSON file with OCI linux.resources (- for stdin)"},
		&cli.StringFlag{Name: "memory", Usage: "memory limit (e.g. 256m)"},
		&cli.StringFlag{Name: "memory-reservation", Usage: "memory soft limit"},
		&cli.StringFlag{Name: "memory-swap", Usage: "memory+swap limit (-1 = unlimited)"},
		&cli.Uint64Flag{Name: "cpu-shares", Usage: "CPU shares (relative weight)"},
		&cli.Int64Flag{Name: "cpu-quota", Usage: "CPU CFS quota in µs"},
		&cli.Uint64Flag{Name: "cpu-period", Usage: "CPU CFS period in µs"},
		&cli.StringFlag{Name: "cpuset-cpus", Usage: "CPUs allowed (e.g. 0-1)"},
		&cli.StringFlag{Name: "cpuset-mems", Usage: "memory nodes allowed"},
		&cli.Int64Flag{Name: "pids-limit", Usage: "maximum number of processes"},
		&cli.Uint64Flag{Name: "blkio-weight", Usage: "block IO weight (10-1000)"},
	},
	Action: func(c *cli.Context) error {
		ctr, unlock, err := lockedContainer(c, "update")
		if err != nil {
			return err
		}
		defer unlock()
		var res specs.LinuxResources
		if path := c.String("resources"); path != "" {
			if err := readJSONFile(path, &res); err != nil {
				return err
			}
		}
		if err := applyResourceFlags(c, &res); err != nil {
			return err
		}
		config := ctr.Config()
		r := config.Cgroups.Resources
		if m := res.Memory; m != nil {
			setIf(&r.Memory, m.Limit)
			setIf(&r.MemoryReservation, m.Reservation)
			setIf(&r.MemorySwap, m.Swap)
		}
		if cpu := res.CPU; cpu != nil {
			setIf(&r.CpuShares, cpu.Shares)
			setIf(&r.CpuQuota, cpu.Quota)
			setIf(&r.CpuPeriod, cpu.Period)
			if cpu.Cpus != "" {
				r.CpusetCpus = cpu.Cpus
			}
			if cpu.Mems != "" {
				r.CpusetMems = cpu.Mems
			}
		}
		if res.Pids != nil && res.Pids.Limit != nil {
			r.PidsLimit = res.Pids.Limit
		}
		if res.BlockIO != nil && res.BlockIO.Weight != nil {
			r.BlkioWeight = *res.BlockIO.Weight
		}
		return ctr.Set(config)
	},
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// applyResourceFlags folds the single-value flags into res (they win over -r).
func applyResourceFlags(c *cli.Context, res *specs.LinuxResources) error {
	for _, f := range []struct {
		name string
		dst  func(int64)
	}{
		{"memory", func(v int64) { mem(res).Limit = &v }},
		{"memory-reservation", func(v int64) { mem(res).Reservation = &v }},
		{"memory-swap", func(v int64) { mem(res).Swap = &v }},
	} {
		if s := c.String(f.name); s != "" {
			v, err := parseBytes(s)
			if err != nil {
				return fmt.Errorf("--%s: %w", f.name, err)
			}
			f.dst(v)
		}
	}
	if c.IsSet("cpu-shares") {
		v := c.Uint64("cpu-shares")
		cpu(res).Shares = &v
	}
	if c.IsSet("cpu-quota") {
		v := c.Int64("cpu-quota")
		cpu(res).Quota = &v
	}
	if c.IsSet("cpu-period") {
		v := c.Uint64("cpu-period")
		cpu(res).Period = &v
	}
	if c.IsSet("cpuset-cpus") {
		cpu(res).Cpus = c.String("cpuset-cpus")
	}
	if c.IsSet("cpuset-mems") {
		cpu(res).Mems = c.String("cpuset-mems")
	}
	if c.IsSet("pids-limit") {
		v := c.Int64("pids-limit")
		res.Pids = &specs.LinuxPids{Limit: &v}
	}
	if c.IsSet("blkio-weight") {
		v := uint16(c.Uint64("blkio-weight"))
		res.BlockIO = &specs.LinuxBlockIO{Weight: &v}
	}
	return nil
}

func mem(r *specs.LinuxResources) *specs.LinuxMemory {
	if r.Memory == nil {
		r.Memory = &specs.LinuxMemory{}
	}
	return r.Memory
}

func cpu(r *specs.LinuxResources) *specs.LinuxCPU {
	if r.CPU == nil {
		r.CPU = &specs.LinuxCPU{}
	}
	return r.CPU
}

// parseBytes accepts "-1" (unlimited), plain numbers and sizes like 256m.
func parseBytes(s string) (int64, error) {
	if s == "-1" {
		return -1, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	return units.RAMInBytes(s)
}
