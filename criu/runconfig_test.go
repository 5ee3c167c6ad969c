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
	check.Env = os.Environ()
	if e.Fault != "" { // CRIU refuses an empty CRIU_FAULT (where breakpoints trap)
		check.Env = append(check.Env, host.EnvFault+"="+e.Fault)
	}
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

// A run with externals (they name one container's files and mounts) gets a
// configuration file of its process's own, removed once the run is done: the
// state dir does not fill with one file per container.
func TestUseConfigRemovesOwnFile(t *testing.T) {
	unsetEnv(t, host.EnvConfigFile)
	state := t.TempDir()
	e := &Env{}
	e.UseConfig(state, RunConfig{Externals: []string{"mnt[m]:/a"}, InheritFds: []string{"fd[3]:pipe[1]"}})
	conf := os.Getenv(host.EnvConfigFile)
	b, err := os.ReadFile(conf)
	if err != nil || string(b) != "external mnt[m]:/a\ninherit-fd fd[3]:pipe[1]\n" {
		t.Fatalf("%s=%q: %q %v", host.EnvConfigFile, conf, b, err)
	}
	e.UseConfig(state, RunConfig{Externals: []string{"mnt[m]:/a"}, InheritFds: []string{"fd[3]:pipe[1]"}}) // a retry
	if _, err := os.Stat(conf); err != nil {
		t.Fatalf("a retry with the same set lost its file: %v", err)
	}
	e.UseConfig(state, RunConfig{})
	if _, err := os.Stat(conf); !os.IsNotExist(err) {
		t.Errorf("%s still there after the run (%v)", conf, err)
	}
	if got, set := os.LookupEnv(host.EnvConfigFile); set {
		t.Errorf("%s=%q after the run, want unset", host.EnvConfigFile, got)
	}
	if left, _ := os.ReadDir(state); len(left) != 0 {
		t.Errorf("state dir keeps %v", left)
	}
}
