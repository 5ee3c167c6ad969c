package host

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Environment variables CRIU reads: a user may set them; package criu sets
// them for the criu processes libcontainer starts.
const (
	EnvFault      = "CRIU_FAULT"       // CRIU's fault injection code
	EnvConfigFile = "CRIU_CONFIG_FILE" // a CRIU configuration file
)

// runCriu runs a short criu command as mycr would (with CRIU_FAULT=fault),
// bounded in time.
func runCriu(bin, fault string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, EnvFault+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if fault != "" {
		cmd.Env = append(cmd.Env, EnvFault+"="+fault)
	}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func firstLine(s string) string {
	if s == "" {
		return "(no output)"
	}
	l, _, _ := strings.Cut(s, "\n")
	return l
}
