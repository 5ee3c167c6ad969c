package runtime

import (
	"encoding/json"
	"os"
)

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// tempDir makes a private scratch dir under the state root (same filesystem as
// the state, 0700, hidden from list).
func (r *Root) tempDir(name string) (string, error) {
	return os.MkdirTemp(r.Dir, "."+name+"-")
}
