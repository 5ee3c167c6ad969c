package runtime

import (
	"testing"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/runc/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestApplyResourceUpdate: update folds limits into the config as runc 1.4 does.
func TestApplyResourceUpdate(t *testing.T) {
	cfg := &configs.Config{Cgroups: &cgroups.Cgroup{Resources: &cgroups.Resources{
		CpuPeriod: 100000, CpuQuota: 50000, Memory: 1 << 30,
		BlkioThrottleReadBpsDevice: []*cgroups.ThrottleDevice{cgroups.NewThrottleDevice(8, 0, 100)},
	}}}
	// A period alone keeps the old quota; unlimited memory alone gets swap 0;
	// idle alone gets shares 0; a known device's rate is replaced, a new one added.
	ApplyResourceUpdate(cfg, &specs.LinuxResources{
		CPU:    &specs.LinuxCPU{Period: ptr[uint64](200000), Idle: ptr[int64](1), Burst: ptr[uint64](5000)},
		Memory: &specs.LinuxMemory{Limit: ptr[int64](-1)},
		Pids:   &specs.LinuxPids{Limit: ptr[int64](42)},
		BlockIO: &specs.LinuxBlockIO{ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{
			{Rate: 200, LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}},
			{Rate: 300, LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 16}},
		}},
	})
	r := cfg.Cgroups.Resources
	if r.CpuPeriod != 200000 || r.CpuQuota != 50000 {
		t.Errorf("period alone: period %d quota %d, want 200000 50000", r.CpuPeriod, r.CpuQuota)
	}
	if r.Memory != -1 || r.MemorySwap != 0 {
		t.Errorf("memory -1: memory %d swap %d, want -1 0", r.Memory, r.MemorySwap)
	}
	if r.CPUIdle == nil || *r.CPUIdle != 1 || r.CpuShares != 0 || r.CpuBurst == nil || *r.CpuBurst != 5000 {
		t.Errorf("idle/burst: idle %v shares %d burst %v", r.CPUIdle, r.CpuShares, r.CpuBurst)
	}
	if r.PidsLimit == nil || *r.PidsLimit != 42 || !cfg.Cgroups.SkipDevices {
		t.Errorf("pids %v skipDevices %v", r.PidsLimit, cfg.Cgroups.SkipDevices)
	}
	if d := r.BlkioThrottleReadBpsDevice; len(d) != 2 || d[0].Rate != 200 || d[1].Minor != 16 || d[1].Rate != 300 {
		t.Errorf("read bps devices: %v", d)
	}
	// Both zero resets both; a quota alone keeps the period.
	ApplyResourceUpdate(cfg, &specs.LinuxResources{})
	if r.CpuPeriod != 0 || r.CpuQuota != 0 || r.PidsLimit != nil {
		t.Errorf("empty update: period %d quota %d pids %v, want 0 0 nil", r.CpuPeriod, r.CpuQuota, r.PidsLimit)
	}
	r.CpuPeriod = 100000
	ApplyResourceUpdate(cfg, &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: ptr[int64](20000)}})
	if r.CpuPeriod != 100000 || r.CpuQuota != 20000 {
		t.Errorf("quota alone: period %d quota %d, want 100000 20000", r.CpuPeriod, r.CpuQuota)
	}
}
