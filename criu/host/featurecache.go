package host

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/mycr/mycr/internal/atomicfile"
)

const featureCacheFile = "criu-features.json"

// featureCache holds the CRIU features `criu check --feature` said yes to, for
// one binary (and CRIU_FAULT) on one kernel and boot: the answer depends on
// both, and asking costs a CRIU start with its kernel probes (~50 ms idle,
// more under load) on every lazy restore.
type featureCache struct {
	Key      versionKey        `json:"key"`
	Kernel   string            `json:"kernel"`
	BootID   string            `json:"boot_id"`
	Features map[string]string `json:"features"` // feature -> what criu said
}

// HasIn is Has for a criu feature (Uffd), remembered in stateDir ("" = only
// for this process). Only a yes is kept: a no (perhaps a CRIU that failed to
// start under load) is asked again, and the eager fallback it causes is slow
// anyway.
func HasIn(stateDir, bin, feature string) (bool, string) {
	if stateDir == "" || feature != Uffd {
		return Has(bin, feature)
	}
	bin = realBinary(bin)
	key, keyOK := keyOf(bin, os.Getenv(EnvFault)) // `criu check` runs with our environment
	path := filepath.Join(stateDir, featureCacheFile)
	var c featureCache
	fresh := func() bool {
		return keyOK && c.Key == key && c.Kernel == kernelRelease() && c.BootID != "" && c.BootID == bootID()
	}
	if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &c) == nil && fresh() {
		if detail, ok := c.Features[feature]; ok {
			return true, detail
		}
	}
	ok, detail := Has(bin, feature)
	if !ok || !keyOK {
		return ok, detail
	}
	if !fresh() {
		c = featureCache{Key: key, Kernel: kernelRelease(), BootID: bootID()}
	}
	if c.Features == nil {
		c.Features = map[string]string{}
	}
	c.Features[feature] = detail
	if b, err := json.Marshal(c); err == nil && os.MkdirAll(stateDir, 0o700) == nil {
		_ = atomicfile.Write(path, b, 0o600)
	}
	return ok, detail
}
