package integration

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The masked directories of the spec (runc's default: /proc/acpi, /sys/firmware,
// ... where they exist) are left out of the checkpoint and come back as empty,
// read-only mounts after a restore, as a fresh container has them.
func TestMaskedDirsAfterRestore(t *testing.T) {
	requireCRIU(t)
	e := NewEnv(t)
	c := e.StartCounter("masked")
	var masked []string
	for _, d := range []string{"/proc/acpi", "/sys/firmware"} {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			masked = append(masked, d) // libcontainer masks only what exists
		}
	}
	if len(masked) == 0 {
		t.Skip("this host has neither /proc/acpi nor /sys/firmware")
	}
	img := filepath.Join(e.Dir, "image")
	e.Checkpoint(c.ID, img)
	if got := readMeta(t, img).MaskedDirs; !slices.Equal(got, masked) {
		t.Errorf("metadata maskedDirs = %q, want %q", got, masked)
	}
	_, s := e.RestoreDetached(c.ID, c.Bundle, img)
	for _, d := range masked {
		out := e.MustRun("exec", c.ID, "ls", "-A", d).Stdout
		if strings.TrimSpace(out) != "" {
			t.Errorf("%s is not empty after restore: %q", d, out)
		}
		r := e.Run("exec", c.ID, "touch", d+"/x")
		if r.Code == 0 || !strings.Contains(r.Stderr, "Read-only file system") {
			t.Errorf("touch %s/x in the restored container: %v", d, r)
		}
	}
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(s.Pid), "mountinfo"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range masked {
		if !strings.Contains(string(data), " "+d+" ro,") {
			t.Errorf("%s is not a read-only mount in the restored container:\n%s", d, data)
		}
	}
	WaitCounterAbove(t, c.Count, MustCounter(t, c.Count)+3, 5*time.Second)
}
