// Package spec loads, validates and generates OCI runtime-spec bundles.
package spec

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ConfigName is the bundle's configuration file, as the OCI runtime spec names it.
const ConfigName = "config.json"

// maxConfigSize bounds what we read: a real config.json is a few KiB; a huge one is
// a mistake (or an attack) and must not exhaust memory.
const maxConfigSize = 4 << 20

// Load reads and validates <bundle>/config.json. bundle "" means the current directory.
func Load(bundle string) (*specs.Spec, error) {
	if bundle == "" {
		bundle = "."
	}
	abs, err := filepath.Abs(bundle)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(abs)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("bundle %s does not exist: pass the directory holding %s with --bundle", abs, ConfigName)
		}
		return nil, fmt.Errorf("bundle %s: %w", abs, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("bundle %s is not a directory", abs)
	}
	path := filepath.Join(abs, ConfigName)
	s, err := Decode(path)
	if err != nil {
		return nil, err
	}
	if err := Validate(s, abs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Decode parses a config.json without checking the bundle around it.
func Decode(path string) (*specs.Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("JSON specification file %s not found: create one with `mycr spec`", path)
		}
		return nil, err
	}
	defer f.Close()
	return decode(f, path)
}

func decode(r io.Reader, path string) (*specs.Spec, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("%s is larger than %d MiB: not a runtime configuration", path, maxConfigSize>>20)
	}
	var s *specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s is not valid JSON: %w", path, err)
	}
	if s == nil {
		return nil, fmt.Errorf("%s: config cannot be null", path)
	}
	return s, nil
}
