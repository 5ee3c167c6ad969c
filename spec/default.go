package spec

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Default returns the configuration `mycr spec` writes: runc's example (sh on a tty,
// rootfs "rootfs", own namespaces), optionally converted for rootless use.
func Default(rootless bool) *specs.Spec {
	s := specconv.Example()
	if rootless {
		specconv.ToRootless(s)
	}
	return s
}

// WriteDefault writes Default to <bundle>/config.json, refusing to overwrite one.
func WriteDefault(bundle string, rootless bool) error {
	path := filepath.Join(bundle, ConfigName)
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("file %s exists. Remove it first", path)
	}
	data, err := json.MarshalIndent(Default(rootless), "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o666)
}
