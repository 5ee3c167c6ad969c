package criu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
)

// Prepare points CRIU at a config file with the nftables lock when this CRIU
// supports it, a dump adds the host's cgroup yard, and a user's
// CRIU_CONFIG_FILE is never replaced.
func TestPrepareWritesCriuConfig(t *testing.T) {
	bin := needCriu(t)
	cleanEnv(t)
	unsetEnv(t, EnvConfigFile)
	state := t.TempDir()
	e, err := Prepare(state, "")
	if err != nil {
		t.Fatal(err)
	}
	_, cerr := runCriu(bin, e.Fault, "check", "--feature", "network_lock_nftables")
	if want := map[bool]string{true: NetLockNftables, false: NetLockIptables}[cerr == nil]; e.NetworkLock != want {
		t.Fatalf("NetworkLock %q, criu check says %q", e.NetworkLock, want)
	}
	conf, set := os.LookupEnv(EnvConfigFile)
	if e.NetworkLock == NetLockNftables {
		b, err := os.ReadFile(conf)
		if !set || err != nil || string(b) != "network-lock nftables\n" {
			t.Fatalf("%s=%q (set %v): %q %v", EnvConfigFile, conf, set, b, err)
		}
		if fi, _ := os.Stat(conf); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s is %v, want 0600", conf, fi.Mode().Perm())
		}
	}

	e.UseConfig(state, RunConfig{Yard: true})
	b, err := os.ReadFile(os.Getenv(EnvConfigFile))
	if e.CgroupYard != "" && (err != nil || !strings.Contains(string(b), "cgroup-yard "+e.CgroupYard+"\n")) {
		t.Fatalf("dump config %q %v lacks the yard %s", b, err, e.CgroupYard)
	}
	e.UseConfig(state, RunConfig{Yard: true, NoNetworkLock: true})
	if b, err := os.ReadFile(os.Getenv(EnvConfigFile)); err != nil || !strings.HasPrefix(string(b), "network-lock skip\n") {
		t.Fatalf("dump config without a lock: %q %v", b, err)
	}
	e.UseConfig(state, RunConfig{})
	if got := os.Getenv(EnvConfigFile); e.NetworkLock == NetLockNftables && got != conf {
		t.Fatalf("after the dump %s=%q, want %q", EnvConfigFile, got, conf)
	}

	t.Setenv(EnvConfigFile, "/etc/mine.conf")
	e2, err := Prepare(state, "")
	if err != nil {
		t.Fatal(err)
	}
	e2.UseConfig(state, RunConfig{Yard: true})
	if got := os.Getenv(EnvConfigFile); got != "/etc/mine.conf" || e2.CgroupYard != "" {
		t.Fatalf("user's config replaced: %s=%q, yard %q", EnvConfigFile, got, e2.CgroupYard)
	}
}

// The yard found on this host holds every hierarchy of /proc/self/cgroup,
// each mounted at its root in the dir CRIU looks for.
func TestHostCgroupYardHoldsEveryHierarchy(t *testing.T) {
	yard := hostCgroupYard()
	if yard == "" {
		t.Skip("no cgroup yard on this host (cgroup v2 only or another layout)")
	}
	names, err := hierarchyNames("/proc/self/cgroup")
	if err != nil || len(names) == 0 {
		t.Fatal(names, err)
	}
	for _, h := range names {
		dir := filepath.Join(yard, h.dir)
		ok, err := mountinfo.Mounted(dir)
		if err != nil || !ok {
			t.Errorf("%s is not a mount point (%v)", dir, err)
		}
	}
}

func TestHierarchyNamesAsCriuNamesThem(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cgroup")
	os.WriteFile(p, []byte("9:name=systemd:/\n4:cpu,cpuacct:/a\n0::/b\n"), 0o600)
	got, err := hierarchyNames(p)
	if err != nil || len(got) != 3 || got[0].dir != "systemd" || got[1].dir != "cpu,cpuacct" ||
		len(got[1].controllers) != 2 || got[2].dir != "unified" || got[2].controllers != nil {
		t.Fatalf("%+v %v", got, err)
	}
}
