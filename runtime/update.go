package runtime

import (
	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ApplyResourceUpdate folds an `update` request into the container's cgroup config
// the way runc 1.4 does, so callers see the same cgroup files change: a nil field
// keeps the current value; cpuset, cpu burst/idle, pids and unified are replaced
// as given (nil/empty: not written); a quota or period given alone keeps the
// other's old value; per-device block IO entries are updated or added.
func ApplyResourceUpdate(cfg *configs.Config, r *specs.LinuxResources) {
	res := cfg.Cgroups.Resources
	mem, cpu, blkio, pids := r.Memory, r.CPU, r.BlockIO, r.Pids
	if mem == nil {
		mem = &specs.LinuxMemory{}
	}
	if cpu == nil {
		cpu = &specs.LinuxCPU{}
	}
	if blkio == nil {
		blkio = &specs.LinuxBlockIO{}
	}
	if pids == nil {
		pids = &specs.LinuxPids{}
	}
	// "unlimited memory" alone would fail: "unable to set swap limit without memory limit".
	if mem.Limit != nil && *mem.Limit == -1 && mem.Swap == nil {
		mem.Swap = ptr[int64](0)
	}
	// cpu.idle without shares would write an invalid cgroup v2 weight.
	if cpu.Idle != nil && cpu.Shares == nil {
		cpu.Shares = ptr[uint64](0)
	}

	setIf(&res.BlkioWeight, blkio.Weight)
	setIf(&res.BlkioLeafWeight, blkio.LeafWeight)
	for _, wd := range blkio.WeightDevice {
		res.BlkioWeightDevice = upsertWeightDevice(res.BlkioWeightDevice, wd)
	}
	for dst, src := range map[*[]*cgroups.ThrottleDevice][]specs.LinuxThrottleDevice{
		&res.BlkioThrottleReadBpsDevice:   blkio.ThrottleReadBpsDevice,
		&res.BlkioThrottleWriteBpsDevice:  blkio.ThrottleWriteBpsDevice,
		&res.BlkioThrottleReadIOPSDevice:  blkio.ThrottleReadIOPSDevice,
		&res.BlkioThrottleWriteIOPSDevice: blkio.ThrottleWriteIOPSDevice,
	} {
		for _, td := range src {
			*dst = upsertThrottleDevice(*dst, td)
		}
	}

	var period uint64
	var quota int64
	setIf(&period, cpu.Period)
	setIf(&quota, cpu.Quota)
	switch {
	case (period == 0) == (quota == 0): // both given, or both unset: reset together
		res.CpuPeriod, res.CpuQuota = period, quota
	case period != 0:
		res.CpuPeriod = period
	default:
		res.CpuQuota = quota
	}
	res.CpuBurst = cpu.Burst
	if cpu.Shares != nil {
		res.CpuShares = *cpu.Shares
		res.CpuWeight = cgroups.ConvertCPUSharesToCgroupV2Value(*cpu.Shares)
	}
	setIf(&res.CpuRtPeriod, cpu.RealtimePeriod)
	setIf(&res.CpuRtRuntime, cpu.RealtimeRuntime)
	res.CpusetCpus, res.CpusetMems = cpu.Cpus, cpu.Mems
	res.CPUIdle = cpu.Idle

	setIf(&res.Memory, mem.Limit)
	setIf(&res.MemoryReservation, mem.Reservation)
	setIf(&res.MemorySwap, mem.Swap)
	setIf(&res.MemoryCheckBeforeUpdate, mem.CheckBeforeUpdate)
	res.PidsLimit = pids.Limit
	res.Unified = r.Unified
	// update cannot change device rules (as runc): leave what others applied alone.
	cfg.Cgroups.SkipDevices = true
}

func ptr[T any](v T) *T { return &v }

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// upsertWeightDevice updates the last entry for the device or appends one.
func upsertWeightDevice(devs []*cgroups.WeightDevice, wd specs.LinuxWeightDevice) []*cgroups.WeightDevice {
	for i := len(devs) - 1; i >= 0; i-- {
		if devs[i].Major == wd.Major && devs[i].Minor == wd.Minor {
			setIf(&devs[i].Weight, wd.Weight)
			setIf(&devs[i].LeafWeight, wd.LeafWeight)
			return devs
		}
	}
	var weight, leaf uint16
	setIf(&weight, wd.Weight)
	setIf(&leaf, wd.LeafWeight)
	return append(devs, cgroups.NewWeightDevice(wd.Major, wd.Minor, weight, leaf))
}

// upsertThrottleDevice updates the last entry for the device or appends one.
func upsertThrottleDevice(devs []*cgroups.ThrottleDevice, td specs.LinuxThrottleDevice) []*cgroups.ThrottleDevice {
	for i := len(devs) - 1; i >= 0; i-- {
		if devs[i].Major == td.Major && devs[i].Minor == td.Minor {
			devs[i].Rate = td.Rate
			return devs
		}
	}
	return append(devs, cgroups.NewThrottleDevice(td.Major, td.Minor, td.Rate))
}
