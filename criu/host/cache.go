package host

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/mycr/mycr/internal/atomicfile"
)

const cacheFile = "criu-env.json"

// envCache remembers the probe result. It is only valid for the same kernel
// and the same boot: the answer depends on the hypervisor and the kernel.
type envCache struct {
	Kernel        string `json:"kernel"`
	BootID        string `json:"boot_id"`
	HWBreakpoints string `json:"hw_breakpoints"`
	Source        string `json:"source"` // "probe" or "stall" (see Env.DisableHWBreakpoints)
}

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

func bootID() string {
	b, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	return strings.TrimSpace(string(b))
}

// readCache returns the cached result if it belongs to this kernel and boot.
func readCache(stateDir string) (*envCache, bool) {
	b, err := os.ReadFile(filepath.Join(stateDir, cacheFile))
	if err != nil {
		return nil, false
	}
	var c envCache
	if json.Unmarshal(b, &c) != nil || c.Kernel != kernelRelease() || c.BootID == "" ||
		c.BootID != bootID() || (c.HWBreakpoints != HWWorks && c.HWBreakpoints != HWBroken) {
		return nil, false
	}
	return &c, true
}

// writeCache stores hw for this kernel+boot atomically, 0600 in a 0700 dir.
func writeCache(stateDir, hw, source string) error {
	b, err := json.Marshal(envCache{Kernel: kernelRelease(), BootID: bootID(), HWBreakpoints: hw, Source: source})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(stateDir, cacheFile), append(b, '\n'), 0o600)
}
