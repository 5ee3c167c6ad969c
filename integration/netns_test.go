package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestNetnsStateKept: a container whose network namespace holds more than an up
// loopback (an extra address on lo, a veth pair with an address, added from the
// host) is checkpointed with its netns saved, and gets that state back at restore.
func TestNetnsStateKept(t *testing.T) {
	requireCRIU(t)
	if _, err := exec.LookPath("nsenter"); err != nil {
		t.Skip("nsenter is not installed")
	}
	for _, tc := range []struct {
		name  string
		setup [][]string
		want  []string // in `ip addr` inside the restored container
	}{
		{"lo-address", [][]string{{"ip", "addr", "add", "127.0.0.9/8", "dev", "lo"}}, []string{"127.0.0.9/8"}},
		{"veth-link", [][]string{
			{"ip", "link", "add", "v0", "type", "veth", "peer", "name", "v1"},
			{"ip", "addr", "add", "10.77.0.1/24", "dev", "v0"},
		}, []string{"v0", "v1", "10.77.0.1/24"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := NewEnv(t)
			c := e.StartCounter("netns")
			for _, cmd := range tc.setup {
				inNetns(t, c.Pid, cmd...)
			}
			img := filepath.Join(e.Dir, "image")
			e.Checkpoint(c.ID, img)
			if got := metaNetns(t, img); got != "dumped" {
				t.Errorf("checkpoint metadata netns = %q, want \"dumped\" (the netns holds %v)", got, tc.want)
			}
			e.ExpectCheckpointedAway(c.ID, c.Pid)
			n := MustCounter(t, c.Count)
			e.RestoreDetached(c.ID, c.Bundle, img)
			WaitCounterAbove(t, c.Count, n+2, 5*time.Second)
			out := e.MustRun("exec", c.ID, "ip", "addr").Stdout
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("after restore, `ip addr` in the container lacks %s:\n%s", w, out)
				}
			}
			expectLoUp(t, e, c.ID)
		})
	}
}

// inNetns runs a command in the network namespace of pid, from the host.
func inNetns(t *testing.T, pid int, args ...string) {
	t.Helper()
	cmd := append([]string{"-t", strconv.Itoa(pid), "-n"}, args...)
	if out, err := exec.Command("nsenter", cmd...).CombinedOutput(); err != nil {
		t.Fatalf("nsenter %v: %v\n%s", cmd, err, out)
	}
}

// imageMeta is the part of mycr's checkpoint metadata the tests look at.
type imageMeta struct {
	Netns      string   `json:"netns"`
	MaskedDirs []string `json:"maskedDirs"`
	Tmpfs      []struct {
		Mountpoint string `json:"mountpoint"`
		File       string `json:"file"`
	} `json:"tmpfs"`
}

func readMeta(t *testing.T, img string) imageMeta {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(img, "mycr-checkpoint.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m imageMeta
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// metaNetns is how mycr's checkpoint metadata says the netns was saved.
func metaNetns(t *testing.T, img string) string { return readMeta(t, img).Netns }

// expectLoUp checks that loopback is up inside the container.
func expectLoUp(t *testing.T, e *Env, id string) {
	t.Helper()
	out := e.MustRun("exec", id, "ip", "link", "show", "lo").Stdout
	if !strings.Contains(out, "<LOOPBACK,UP") {
		t.Errorf("loopback is not up in %s:\n%s", id, out)
	}
}
