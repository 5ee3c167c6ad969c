package criu

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"
)

// EnvConfigFile is the environment variable naming a CRIU configuration file;
// every criu process mycr starts (libcontainer's `criu swrk`) reads it.
const EnvConfigFile = "CRIU_CONFIG_FILE"

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

// chooseNetworkLock decides how CRIU locks the container's network: with
// nftables rather than iptables when it can. Both drop every packet of the
// container's network namespace while CRIU works; the iptables lock costs 2
// process starts of iptables-restore at dump and 5-7 at restore (lock,
// unlock, checks), ~40 ms of an idle container's restore, where nftables runs
// inside CRIU. A CRIU_CONFIG_FILE set by the user is left alone, and
// /etc/criu/runc.conf (libcontainer passes it over RPC) still overrides the
// file mycr writes (UseConfig).
func (e *Env) chooseNetworkLock(stateDir string) {
	e.NetworkLock = NetLockIptables
	if v, set := os.LookupEnv(EnvConfigFile); set {
		e.NetworkLock, e.userConfig = "as in "+v, true
		return
	}
	if nftablesLockWorks(stateDir, e.Binary, e.Fault) {
		e.NetworkLock = NetLockNftables
	}
	e.CgroupYard = hostCgroupYard()
	if strings.ContainsAny(e.CgroupYard, " \t\n\"'") {
		e.CgroupYard = "" // not worth quoting for CRIU's config parser
	}
}

// RunConfig is what the next CRIU runs need beyond the defaults.
type RunConfig struct {
	// Yard: the host's cgroup yard (any dump; restores of images that fit it, YardFits).
	Yard bool
	// NoNetworkLock: a dump of a network namespace that holds no TCP socket and
	// reaches nothing (loopback only): the lock would guard no connection. CRIU
	// records the method in inventory.img and the restore locks (or not) the same
	// way; skipping saves the lock and, at restore, ~10 ms of nftables unlock.
	NoNetworkLock bool
	// Externals are values of CRIU's --external option (MaskedExternals,
	// MaskedRestoreExternal).
	Externals []string
	// InheritFds are values of CRIU's --inherit-fd option (fd[N]:key): the
	// restore's stdio standing in for external files of the images.
	InheritFds []string
}

// UserConfig tells whether CRIU_CONFIG_FILE is the user's: UseConfig then
// passes CRIU nothing (externals and inherited fds included).
func (e *Env) UserConfig() bool { return e != nil && e.userConfig }

// UseConfig writes the CRIU configuration file for the next CRIU runs and
// points CRIU_CONFIG_FILE at it.
// A failure leaves the previous configuration in place: it only costs time.
func (e *Env) UseConfig(stateDir string, rc RunConfig) {
	if e == nil || e.userConfig {
		return
	}
	var lines []string
	name := "criu"
	switch {
	case rc.NoNetworkLock:
		lines, name = append(lines, "network-lock skip"), name+"-nolock"
	case e.NetworkLock == NetLockNftables:
		lines = append(lines, "network-lock nftables")
	}
	if rc.Yard && e.CgroupYard != "" {
		lines, name = append(lines, "cgroup-yard "+e.CgroupYard), name+"-yard"
	}
	if len(rc.Externals)+len(rc.InheritFds) > 0 {
		for _, x := range rc.Externals {
			lines = append(lines, "external "+x)
		}
		for _, x := range rc.InheritFds {
			lines = append(lines, "inherit-fd "+x)
		}
		// One file per set of externals: concurrent runs of other containers
		// may need another set.
		sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
		name += "-ext-" + hex.EncodeToString(sum[:6])
	}
	if len(lines) == 0 {
		os.Unsetenv(EnvConfigFile)
		return
	}
	conf := filepath.Join(stateDir, name+".conf")
	// Every checkpoint and restore comes here: writeFileAtomic leaves an
	// unchanged file alone.
	if err := writeFileAtomic(conf, []byte(strings.Join(lines, "\n")+"\n")); err != nil {
		logrus.Debugf("cannot write %s, CRIU runs with its defaults: %v", conf, err)
		return
	}
	_ = os.Setenv(EnvConfigFile, conf)
}

// nftablesLockWorks asks `criu check --feature network_lock_nftables` once per
// binary and boot; the answer is cached in stateDir.
func nftablesLockWorks(stateDir, bin, fault string) bool {
	key, ok := keyOf(bin)
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
		if err := writeFileAtomic(path, b); err != nil {
			logrus.Debugf("cannot cache the network lock probe: %v", err)
		}
	}
	return works
}

// writeFileAtomic writes b to path (0600, dir 0700) through a rename, so a
// concurrent reader sees the old or the new content, never half of it.
func writeFileAtomic(path string, b []byte) error {
	if old, err := os.ReadFile(path); err == nil && string(old) == string(b) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	defer os.Remove(tmp) // no-op after the rename
	return os.Rename(tmp, path)
}
