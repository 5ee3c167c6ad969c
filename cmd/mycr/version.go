package main

import (
	"fmt"
	goruntime "runtime"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
)

// Set at build time: -ldflags "-X main.version=... -X main.gitCommit=...".
var (
	version   = "0.1.0"
	gitCommit = ""
)

func printVersion(c *cli.Context) {
	w := c.App.Writer
	fmt.Fprintln(w, "mycr version", version)
	commit := gitCommit
	if commit == "" {
		commit = "unknown"
	}
	fmt.Fprintln(w, "commit:", commit)
	fmt.Fprintln(w, "spec:", specs.Version)
	fmt.Fprintln(w, "go:", goruntime.Version())
}
