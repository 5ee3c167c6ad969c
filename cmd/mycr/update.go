package main

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/docker/go-units"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/intelrdt"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/mycr/mycr/runtime"
)

// updateCommand takes runc's flags (all string-valued, parsed here) and semantics.
var updateCommand = &cli.Command{
	Name:      "update",
	Usage:     "update a container's resource limits",
	ArgsUsage: "<container-id>",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "resources", Aliases: []string{"r"}, Usage: "JSON file with OCI linux.resources (- for stdin); all other flags are then ignored"},
		&cli.IntFlag{Name: "blkio-weight", Usage: "block IO weight (10-1000)"},
		&cli.StringFlag{Name: "cpu-period", Usage: "CPU CFS period in µs (0: system default)"},
		&cli.StringFlag{Name: "cpu-quota", Usage: "CPU CFS quota in µs per period"},
		&cli.StringFlag{Name: "cpu-burst", Usage: "CPU CFS burst in µs"},
		&cli.StringFlag{Name: "cpu-share", Aliases: []string{"cpu-shares"}, Usage: "CPU shares (relative weight)"},
		&cli.StringFlag{Name: "cpu-rt-period", Usage: "CPU realtime period in µs"},
		&cli.StringFlag{Name: "cpu-rt-runtime", Usage: "CPU realtime runtime in µs per period"},
		&cli.StringFlag{Name: "cpuset-cpus", Usage: "CPUs allowed (e.g. 0-1)"},
		&cli.StringFlag{Name: "cpuset-mems", Usage: "memory nodes allowed"},
		&cli.StringFlag{Name: "cpu-idle", Usage: "cgroup SCHED_IDLE: 0 default, 1 idle"},
		&cli.StringFlag{Name: "memory", Usage: "memory limit (e.g. 256m, -1 unlimited)"},
		&cli.StringFlag{Name: "memory-reservation", Usage: "memory soft limit"},
		&cli.StringFlag{Name: "memory-swap", Usage: "memory+swap limit (-1 = unlimited)"},
		&cli.StringFlag{Name: "kernel-memory", Hidden: true},
		&cli.StringFlag{Name: "kernel-memory-tcp", Hidden: true},
		&cli.IntFlag{Name: "pids-limit", Usage: "maximum number of processes"},
		&cli.StringFlag{Name: "l3-cache-schema", Usage: "Intel RDT/CAT L3 cache schema"},
		&cli.StringFlag{Name: "mem-bw-schema", Usage: "Intel RDT/MBA memory bandwidth schema"},
	},
	Action: func(c *cli.Context) error {
		ctr, unlock, err := lockedContainer(c, "update")
		if err != nil {
			return err
		}
		defer unlock()
		res := specs.LinuxResources{
			Memory: &specs.LinuxMemory{CheckBeforeUpdate: new(bool)},
			CPU:    &specs.LinuxCPU{}, BlockIO: &specs.LinuxBlockIO{}, Pids: &specs.LinuxPids{},
		}
		if path := c.String("resources"); path != "" {
			if err := readJSONFile(path, &res); err != nil {
				return err
			}
		} else if err := resourceFlags(c, &res); err != nil {
			return err
		}
		//lint:ignore SA1019 accepted and ignored, as runc does
		if m := res.Memory; m != nil && (m.Kernel != nil || m.KernelTCP != nil) {
			logrus.Warn("kernel memory settings are ignored")
		}
		config := ctr.Config()
		runtime.ApplyResourceUpdate(&config, &res)
		if err := rdtFlags(c, config.IntelRdt); err != nil {
			return err
		}
		return ctr.Set(config)
	},
}

// resourceFlags reads the single-value flags into res.
func resourceFlags(c *cli.Context, res *specs.LinuxResources) error {
	if v := c.Int("blkio-weight"); v != 0 {
		w := uint16(v)
		res.BlockIO.Weight = &w
	}
	res.CPU.Cpus, res.CPU.Mems = c.String("cpuset-cpus"), c.String("cpuset-mems")
	parseInt := func(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }
	parseUint := func(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) }
	if err := parseFlags(c, parseInt, map[string]**int64{"cpu-quota": &res.CPU.Quota,
		"cpu-rt-runtime": &res.CPU.RealtimeRuntime, "cpu-idle": &res.CPU.Idle}); err != nil {
		return err
	}
	if err := parseFlags(c, parseUint, map[string]**uint64{"cpu-burst": &res.CPU.Burst, "cpu-period": &res.CPU.Period,
		"cpu-rt-period": &res.CPU.RealtimePeriod, "cpu-share": &res.CPU.Shares}); err != nil {
		return err
	}
	memory := map[string]**int64{"memory": &res.Memory.Limit, "memory-swap": &res.Memory.Swap,
		"memory-reservation": &res.Memory.Reservation, "kernel-memory-tcp": &res.Memory.KernelTCP}
	//lint:ignore SA1019 --kernel-memory is accepted and ignored, as runc does
	memory["kernel-memory"] = &res.Memory.Kernel
	if err := parseFlags(c, parseBytes, memory); err != nil {
		return err
	}
	if c.IsSet("pids-limit") {
		v := int64(c.Int("pids-limit"))
		res.Pids.Limit = &v
	}
	return nil
}

// parseFlags sets *dsts[name] from each string flag given, parsed by parse.
func parseFlags[T any](c *cli.Context, parse func(string) (T, error), dsts map[string]**T) error {
	for name, dst := range dsts {
		if s := c.String(name); s != "" {
			v, err := parse(s)
			if err != nil {
				return fmt.Errorf("invalid value for %s: %w", name, err)
			}
			*dst = &v
		}
	}
	return nil
}

// rdtFlags applies the Intel RDT schemata flags to the container's existing RDT config.
func rdtFlags(c *cli.Context, rdt *configs.IntelRdt) error {
	l3, mba := c.String("l3-cache-schema"), c.String("mem-bw-schema")
	if l3 != "" && !intelrdt.IsCATEnabled() {
		//lint:ignore ST1005 runc's text
		return errors.New("Intel RDT/CAT: l3 cache schema is not enabled")
	}
	if mba != "" && !intelrdt.IsMBAEnabled() {
		//lint:ignore ST1005 runc's text
		return errors.New("Intel RDT/MBA: memory bandwidth schema is not enabled")
	}
	if l3 == "" && mba == "" {
		return nil
	}
	if rdt == nil {
		return errors.New("updating a non-existent Intel RDT configuration is not supported")
	}
	if l3 != "" {
		rdt.L3CacheSchema = l3
	}
	if mba != "" {
		rdt.MemBwSchema = mba
	}
	return nil
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
