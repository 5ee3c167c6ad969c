package runtime

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/opencontainers/runc/libcontainer"
)

// Resume thaws a paused container. A cgroup v1 freezer stuck in FREEZING (see
// keepRunning) is thawed directly, since libcontainer's Resume would first wait
// for it to settle, forever.
func Resume(c *libcontainer.Container) error {
	if stuckFreezing(c) {
		keepRunning(c, false)
		return nil
	}
	return c.Resume()
}

// stuckFreezing tells whether c's v1 freezer stays FREEZING for a while.
func stuckFreezing(c *libcontainer.Container) bool {
	st, err := c.State()
	if err != nil || st.CgroupPaths["freezer"] == "" {
		return false
	}
	file := filepath.Join(st.CgroupPaths["freezer"], "freezer.state")
	for i := 0; i < 20; i++ {
		b, err := os.ReadFile(file)
		if err != nil || strings.TrimSpace(string(b)) != "FREEZING" {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}
