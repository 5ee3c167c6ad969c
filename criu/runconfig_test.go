package criu

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mycr/mycr/criu/host"
)

// Prepare points CRIU at a config file with the nftables lock when this CRIU
// supports it, a dump adds the host's cgroup yard, and a user's
// CRIU_CONFIG_FILE is never replaced.
func TestPrepareWritesCriuConfig(t *testing.T) {
	bin := needCriu(t)
	cleanEnv(t)
	unsetEnv(t, host.EnvConfigFile)
	state := t.TempDir()
	e, err := Prepare(state, "")
	if err != nil {
		t.Fatal(err)
	}
	check := exec.Command(bin, "check", "--feature", "network_lock_nftables")
	check.Env = append(os.Environ(), host.EnvFault+"="+e.Fault)
	cerr := check.Run()
	if want := map[bool]string{true: host.NetLockNftables, false: host.NetLockIptables}[cerr == nil]; e.NetworkLock != want {
		t.Fatalf("NetworkLock %q, criu check says %q", e.NetworkLock, want)
	}
	conf, set := os.LookupEnv(host.EnvConfigFile)
	if e.NetworkLock == host.NetLockNftables {
		b, err := os.ReadFile(conf)
		if !set || err != nil || string(b) != "network-lock nftables\n" {
			t.Fatalf("%s=%q (set %v): %q %v", host.EnvConfigFile, conf, set, b, err)
		}
		if fi, _ := os.Stat(conf); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s is %v, want 0600", conf, fi.Mode().Perm())
		}
	}

	e.UseConfig(state, RunConfig{Yard: true})
	b, err := os.ReadFile(os.Getenv(host.EnvConfigFile))
	if e.CgroupYard != "" && (err != nil || !strings.Contains(string(b), "cgroup-yard "+e.CgroupYard+"\n")) {
		t.Fatalf("dump config %q %v lacks the yard %s", b, err, e.CgroupYard)
	}
	e.UseConfig(state, RunConfig{Yard: true, NoNetworkLock: true})
	if b, err := os.ReadFile(os.Getenv(host.EnvConfigFile)); err != nil || !strings.HasPrefix(string(b), "network-lock skip\n") {
		t.Fatalf("dump config without a lock: %q %v", b, err)
	}
	e.UseConfig(state, RunConfig{})
	if got := os.Getenv(host.EnvConfigFile); e.NetworkLock == host.NetLockNftables && got != conf {
		t.Fatalf("after the dump %s=%q, want %q", host.EnvConfigFile, got, conf)
	}

	t.Setenv(host.EnvConfigFile, "/etc/mine.conf")
	e2, err := Prepare(state, "")
	if err != nil {
		t.Fatal(err)
	}
	e2.UseConfig(state, RunConfig{Yard: true})
	if got := os.Getenv(host.EnvConfigFile); got != "/etc/mine.conf" || e2.CgroupYard != "" {
		t.Fatalf("user's config replaced: %s=%q, yard %q", host.EnvConfigFile, got, e2.CgroupYard)
	}
}
