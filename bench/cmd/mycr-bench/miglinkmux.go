package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mycr/mycr/internal/twohosts"
)

// sharedSSH is an ssh master connection from host A to host B, open before
// the "shared" variants migrate (ControlMaster and ControlPersist, as a user
// who moves many containers sets them in ~/.ssh/config): their migrations
// skip ssh's own start, ~0.3 s here (OpenSSH's key exchange and login).
type sharedSSH struct {
	env  []string // host A's environment with the sharing ssh first in PATH
	wrap []string
	ssh  string
}

// openSharedSSH writes the sharing ssh (the setup's, with the master's
// options) and opens the master.
func openSharedSSH(h *twohosts.Hosts) (*sharedSSH, error) {
	dir := filepath.Join(h.A.Dir, "sharedbin")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s := &sharedSSH{wrap: h.Wrap(h.A), ssh: filepath.Join(dir, "ssh")}
	// A socket path must fit in 108 bytes: not under the bench's work dir.
	wrapper := fmt.Sprintf("#!/bin/sh\nexec %s -o ControlMaster=auto -o ControlPath=/run/mycr-bench-ssh-%%C -o ControlPersist=30m \"$@\"\n",
		filepath.Join(h.BinDir, "ssh"))
	if err := os.WriteFile(s.ssh, []byte(wrapper), 0o755); err != nil {
		return nil, err
	}
	for _, kv := range h.Env(h.A) {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			kv = "PATH=" + dir + ":" + p
		}
		s.env = append(s.env, kv)
	}
	if res, err := s.run("hostb", "true"); err != nil {
		return nil, fmt.Errorf("ssh master connection to host B: %w: %s", err, lastLines(res.Output, 3))
	}
	return s, nil
}

func (s *sharedSSH) run(args ...string) (Result, error) {
	return Cmd{Args: append(append(append([]string(nil), s.wrap...), s.ssh), args...), Env: s.env, Capture: true, Timeout: time.Minute}.Run()
}

// close ends the master connection.
func (s *sharedSSH) close() { _, _ = s.run("-O", "exit", "hostb") }
