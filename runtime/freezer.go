package runtime

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/sirupsen/logrus"
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

// keepRunning undoes what a failed or killed CRIU, or the pre-freeze, may have
// left: a frozen cgroup. It writes the freezer itself: libcontainer's Status and
// Resume first wait for a FREEZING cgroup to settle, and on cgroup v1 one never
// does while a task that joined it cannot freeze (a concurrent exec's init in
// the middle of execve waits for its own frozen threads), so they would hang
// forever where thawing ends it.
func keepRunning(c *libcontainer.Container, wasPaused bool) {
	if wasPaused {
		return
	}
	st, err := c.State()
	if err != nil {
		logrus.Errorf("container %s may be left frozen: %v; run `mycr resume %s`", c.ID(), err, c.ID())
		return
	}
	for _, sub := range []string{"freezer", ""} { // cgroup v1, v2
		if p := st.CgroupPaths[sub]; p != "" {
			thaw(p)
		}
	}
}

// thaw un-freezes a cgroup v1 freezer or a cgroup v2 group (no-op elsewhere).
func thaw(path string) {
	if _, err := os.Stat(filepath.Join(path, "freezer.state")); err == nil {
		_ = os.WriteFile(filepath.Join(path, "freezer.state"), []byte("THAWED"), 0)
	}
	if _, err := os.Stat(filepath.Join(path, "cgroup.freeze")); err == nil {
		_ = os.WriteFile(filepath.Join(path, "cgroup.freeze"), []byte("0"), 0)
	}
}
