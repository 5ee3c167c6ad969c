package criu

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mycr/mycr/criu/host"
	"github.com/mycr/mycr/internal/atomicfile"
)

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

// ownConfig tells whether rc's configuration file is this process's own.
func ownConfig(rc RunConfig) bool { return len(rc.Externals)+len(rc.InheritFds) > 0 }

// configFile writes the CRIU configuration file for runs with rc on host h
// and returns its path: "" when the defaults serve (no file needed), or with
// an error the file could not be written.
func configFile(h *host.Env, stateDir string, rc RunConfig) (string, error) {
	var lines []string
	name := "criu"
	switch {
	case rc.NoNetworkLock:
		lines, name = append(lines, "network-lock skip"), name+"-nolock"
	case h.NetworkLock == host.NetLockNftables:
		lines = append(lines, "network-lock nftables")
	}
	if rc.Yard && h.CgroupYard != "" {
		lines, name = append(lines, "cgroup-yard "+h.CgroupYard), name+"-yard"
	}
	if ownConfig(rc) {
		for _, x := range rc.Externals {
			lines = append(lines, "external "+x)
		}
		for _, x := range rc.InheritFds {
			lines = append(lines, "inherit-fd "+x)
		}
		// The process's own file: externals name one container's files and
		// mounts, so the file is removed after the run (UseConfig), and a
		// concurrent run of another mycr with the same set must not lose it.
		name += "-ext-" + strconv.Itoa(os.Getpid())
	}
	if len(lines) == 0 {
		return "", nil
	}
	conf := filepath.Join(stateDir, name+".conf")
	return conf, writeUnchanged(conf, []byte(strings.Join(lines, "\n")+"\n"))
}

// writeUnchanged writes b to path (0600, dir 0700) unless it holds b already:
// every checkpoint and restore comes here, and concurrent CRIU runs read it.
func writeUnchanged(path string, b []byte) error {
	if old, err := os.ReadFile(path); err == nil && string(old) == string(b) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(path, b, 0o600)
}
