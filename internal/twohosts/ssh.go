package twohosts

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// sshKeys makes the migrating user's key, ssh config and known_hosts on A, and
// authorizes the key on both hosts.
func (h *Hosts) sshKeys() error {
	home := filepath.Join(h.A.Dir, "home")
	h.BinDir = filepath.Join(h.A.Dir, "bin")
	for _, d := range []string{home, h.BinDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	key := filepath.Join(home, "id_ed25519")
	if err := h.run(exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "mycr-twohosts", "-f", key)); err != nil {
		return err
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		return err
	}
	var known, cfg strings.Builder
	for _, n := range []*Host{h.A, h.B} {
		hk := filepath.Join(n.Dir, "ssh", "host_ed25519")
		if err := h.run(exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hk)); err != nil {
			return err
		}
		hpub, err := os.ReadFile(hk + ".pub")
		if err != nil {
			return err
		}
		fields := strings.Fields(string(hpub))
		fmt.Fprintf(&known, "%s %s %s\n", n.Addr, fields[0], fields[1])
		if err := os.WriteFile(filepath.Join(n.Dir, "ssh", "authorized_keys"), pub, 0o600); err != nil {
			return err
		}
		fmt.Fprintf(&cfg, "Host host%s\n  HostName %s\n  User root\n", n.Name, n.Addr)
		// The same host through one shared connection, as a user who moves
		// many containers sets it up (the socket's path must stay short).
		fmt.Fprintf(&cfg, "Host %s\n  HostName %s\n  User root\n  ControlMaster auto\n  ControlPath %s\n  ControlPersist 10m\n",
			n.SharedSSHName(), n.Addr, filepath.Join(h.A.Dir, "cm-%h"))
	}
	if err := os.WriteFile(filepath.Join(home, "known_hosts"), []byte(known.String()), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(&cfg, "Host *\n  IdentityFile %s\n  IdentitiesOnly yes\n  UserKnownHostsFile %s\n  StrictHostKeyChecking yes\n  ConnectTimeout 10\n",
		key, filepath.Join(home, "known_hosts"))
	h.SSHConfig = filepath.Join(home, "config")
	if err := os.WriteFile(h.SSHConfig, []byte(cfg.String()), 0o600); err != nil {
		return err
	}
	// ssh reads ~/.ssh/config from the passwd entry's home, not $HOME: the
	// migrating user gets its config through this ssh, first in PATH.
	wrapper := fmt.Sprintf("#!/bin/sh\nexec /usr/bin/ssh -F %s \"$@\"\n", h.SSHConfig)
	return os.WriteFile(filepath.Join(h.BinDir, "ssh"), []byte(wrapper), 0o755)
}

// startSSHD runs the host's own sshd on its private address only.
func (h *Hosts) startSSHD(n *Host) error {
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // sshd's privilege separation dir
		return err
	}
	cfg := filepath.Join(n.Dir, "ssh", "sshd_config")
	conf := fmt.Sprintf(`ListenAddress %s:22
HostKey %s
AuthorizedKeysFile %s
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
ClientAliveInterval 5
SetEnv TMPDIR=%s
`, n.Addr, filepath.Join(n.Dir, "ssh", "host_ed25519"), filepath.Join(n.Dir, "ssh", "authorized_keys"), n.Tmp())
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		return err
	}
	n.sshd = nsCmd(n.holder, "nm", "/usr/sbin/sshd", "-D", "-e", "-f", cfg)
	log, err := os.Create(filepath.Join(h.Base, "sshd-"+n.Name+".log"))
	if err != nil {
		return err
	}
	defer log.Close()
	n.sshd.Stdout, n.sshd.Stderr = log, log
	if err := n.sshd.Start(); err != nil {
		return fmt.Errorf("sshd on host %s: %w", n.Name, err)
	}
	return nil
}

// waitSSH waits until A logs into n through ssh.
func (h *Hosts) waitSSH(n *Host, limit time.Duration) error {
	var out []byte
	var err error
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if out, err = h.runner(h.On(h.A, "ssh", "host"+n.Name, "true")); err == nil {
			return nil
		}
	}
	return fmt.Errorf("sshd on host %s did not let A in within %s: %v: %s (log: %s)",
		n.Name, limit, err, out, filepath.Join(h.Base, "sshd-"+n.Name+".log"))
}
