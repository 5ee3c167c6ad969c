package host

import (
	"encoding/json"
	"os"
	"path/filepath"
	"syscall"

	"github.com/mycr/mycr/internal/atomicfile"
)

const versionCacheFile = "criu-version.json"

// versionKey names one exact binary: a reinstalled or upgraded criu changes it.
// Fault is the CRIU_FAULT it runs with: CRIU refuses to start with a bad one.
type versionKey struct {
	Path  string `json:"path"`
	Ino   uint64 `json:"ino"`
	Size  int64  `json:"size"`
	Mtime int64  `json:"mtime_ns"`
	Fault string `json:"fault,omitempty"`
}

type versionCache struct {
	Key     versionKey `json:"key"`
	Version int        `json:"version"`
}

// keyOf names bin as run with CRIU_FAULT=fault.
func keyOf(bin, fault string) (versionKey, bool) {
	fi, err := os.Stat(bin)
	if err != nil {
		return versionKey{}, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return versionKey{}, false
	}
	return versionKey{Path: bin, Ino: st.Ino, Size: fi.Size(), Mtime: fi.ModTime().UnixNano(), Fault: fault}, true
}

// cachedBinaryVersion is BinaryVersion remembered per binary (and CRIU_FAULT)
// in stateDir: running `criu --version` costs a process start (~3 ms) on every
// checkpoint and restore.
func cachedBinaryVersion(stateDir, bin string) (int, error) {
	key, ok := keyOf(bin, os.Getenv(EnvFault)) // `criu --version` runs with our environment
	path := filepath.Join(stateDir, versionCacheFile)
	if ok {
		var c versionCache
		if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &c) == nil && c.Key == key && c.Version > 0 {
			return c.Version, nil
		}
	}
	v, err := BinaryVersion(bin)
	if err != nil || !ok {
		return v, err
	}
	if b, err := json.Marshal(versionCache{Key: key, Version: v}); err == nil && os.MkdirAll(stateDir, 0o700) == nil {
		_ = atomicfile.Write(path, b, 0o600)
	}
	return v, nil
}
