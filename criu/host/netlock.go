package host

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/sirupsen/logrus"

	"github.com/mycr/mycr/internal/atomicfile"
)

const (
	netLockCacheFile = "criu-netlock.json"
	// NetLockNftables and NetLockIptables are the values of Env.NetworkLock.
	NetLockNftables = "nftables"
	NetLockIptables = "iptables"
)

// netLockCache remembers whether this criu binary can lock the network with
// nftables on this kernel and boot (libnftables built in, nf_tables present).
type netLockCache struct {
	Key      versionKey `json:"key"`
	Kernel   string     `json:"kernel"`
	BootID   string     `json:"boot_id"`
	Nftables bool       `json:"nftables"`
}

// nftablesLockWorks asks `criu check --feature network_lock_nftables` once per
// binary and boot; the answer is cached in stateDir.
func nftablesLockWorks(stateDir, bin, fault string) bool {
	key, ok := keyOf(bin, fault)
	path := filepath.Join(stateDir, netLockCacheFile)
	if ok {
		var c netLockCache
		if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &c) == nil &&
			c.Key == key && c.Kernel == kernelRelease() && c.BootID != "" && c.BootID == bootID() {
			return c.Nftables
		}
	}
	out, err := runCriu(bin, fault, "check", "--feature", "network_lock_nftables")
	works := err == nil
	if !works {
		logrus.Debugf("CRIU cannot lock the network with nftables, using iptables: %s", firstLine(out))
	}
	if ok {
		b, _ := json.Marshal(netLockCache{Key: key, Kernel: kernelRelease(), BootID: bootID(), Nftables: works})
		err := os.MkdirAll(stateDir, 0o700)
		if err == nil {
			err = atomicfile.Write(path, b, 0o600)
		}
		if err != nil {
			logrus.Debugf("cannot cache the network lock probe: %v", err)
		}
	}
	return works
}
