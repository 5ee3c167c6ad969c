package criu

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/mycr/mycr/criu/host"
)

// This file is the one place that writes mycr's process environment.
// libcontainer starts CRIU as exec.Command("criu", "swrk", "3") with our
// environment, so the environment is how CRIU's settings reach it:
//   - PATH, so that "criu" is the binary host.Probe chose (once per process);
//   - CRIU_FAULT, CRIU's no-hardware-breakpoint mode (once per process, and
//     again by DisableHWBreakpoints);
//   - CRIU_CONFIG_FILE, the configuration of the next runs (per run: UseConfig,
//     UseConfigFile), which CRIU reads besides the options libcontainer sends
//     over RPC (and /etc/criu/runc.conf, which still wins).
//
// Why not libcontainer's org.criu.config annotation for the per-run file: it
// is read from the container's config (c.Config().Labels, fixed when the
// container is created and saved in its state), while the file changes per
// run (dump or restore, a yard that fits these images, masked externals, a
// migration's page-server address); and it replaces /etc/criu/runc.conf, which
// a user's CRIU setup may rely on, where CRIU_CONFIG_FILE adds to it.
//
// Each mycr command is one process: Prepare runs once, before any CRIU run.

// Env is how CRIU runs here (host.Env), with the methods that change what this
// process exports for the next CRIU runs.
type Env struct {
	host.Env
	runConf string // this process's own config file in use (UseConfig removes it once done)
}

// Prepare decides how CRIU must run here (host.Probe; the probe result is
// cached in stateDir) and exports it into this process's environment: PATH
// so that "criu" resolves to the chosen binary, CRIU_FAULT (or the user's
// value is kept), and the default CRIU configuration file.
func Prepare(stateDir, criuPath string) (*Env, error) {
	// CRIU refuses to start with an empty CRIU_FAULT ("CRIU_FAULT out of
	// bounds"), and an empty value is no one's real choice.
	if v, set := os.LookupEnv(host.EnvFault); set && v == "" {
		os.Unsetenv(host.EnvFault)
	}
	h, err := host.Probe(stateDir, criuPath)
	if err != nil {
		return nil, err
	}
	if h.BinDir != "" {
		if err := os.Setenv("PATH", prependPath(os.Getenv("PATH"), h.BinDir)); err != nil {
			return nil, err
		}
	}
	if h.Source != host.SourceEnvFault && h.Fault != "" {
		if err := os.Setenv(host.EnvFault, h.Fault); err != nil {
			return nil, err
		}
	}
	e := &Env{Env: *h}
	e.UseConfig(stateDir, RunConfig{})
	return e, nil
}

// prependPath puts dir first in a PATH value, dropping its other occurrences.
func prependPath(path, dir string) string {
	out := []string{dir}
	for _, d := range filepath.SplitList(path) {
		if d != dir && d != "" {
			out = append(out, d)
		}
	}
	return strings.Join(out, string(filepath.ListSeparator))
}

// DisableHWBreakpoints switches this process (and, through the cache, the
// rest of this boot) to CRIU's no-breakpoint mode. Call it when a dump stalled
// waiting for a breakpoint trap (StalledAtBreakpoint): the probe said the
// breakpoints work, CRIU showed otherwise. A CRIU_FAULT set by the user wins.
func (e *Env) DisableHWBreakpoints(stateDir string) error {
	changed, err := e.MarkHWBroken(stateDir)
	if !changed {
		return err
	}
	if serr := os.Setenv(host.EnvFault, e.Fault); serr != nil {
		return serr
	}
	return err
}

// UseConfig points the next CRIU runs at the configuration file for rc
// (configFile). A CRIU_CONFIG_FILE set by the user is left alone. A failure
// leaves the previous configuration in place: it only costs time. A file of
// this process's own (rc has externals) is removed at the next call, which
// every run makes when it is done (UseConfig with an empty RunConfig).
func (e *Env) UseConfig(stateDir string, rc RunConfig) {
	if e == nil || e.UserConfig {
		return
	}
	conf, err := configFile(&e.Env, stateDir, rc)
	if e.runConf != "" && e.runConf != conf {
		os.Remove(e.runConf)
		e.runConf = ""
	}
	if err != nil {
		logrus.Debugf("cannot write %s, CRIU runs with its defaults: %v", conf, err)
		return
	}
	if ownConfig(rc) {
		e.runConf = conf
	}
	setConfigFile(conf)
}

// UseConfigFile points the next CRIU runs at the configuration file path
// ("" = none) until undo, which restores the previous setting.
func UseConfigFile(path string) (undo func()) {
	prev, had := os.LookupEnv(host.EnvConfigFile)
	setConfigFile(path)
	return func() {
		if had {
			os.Setenv(host.EnvConfigFile, prev)
		} else {
			os.Unsetenv(host.EnvConfigFile)
		}
	}
}

func setConfigFile(path string) {
	if path == "" {
		os.Unsetenv(host.EnvConfigFile)
	} else {
		os.Setenv(host.EnvConfigFile, path)
	}
}
