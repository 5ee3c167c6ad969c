package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mycr/mycr/runtime"
	"github.com/mycr/mycr/spec"
)

// root opens the state root named by --root.
func root(c *cli.Context) (*runtime.Root, error) {
	r, err := runtime.OpenRoot(c.String("root"))
	if err == nil {
		r.GuardFlags = logFlags(c)
	}
	return r, err
}

// logFlags are the global logging flags given, for a helper mycr (a guard).
func logFlags(c *cli.Context) []string {
	var flags []string
	if c.Bool("debug") {
		flags = append(flags, "--debug")
	}
	for _, name := range []string{"log", "log-format"} {
		if c.IsSet(name) {
			flags = append(flags, "--"+name, c.String(name))
		}
	}
	return flags
}

// exactArgs fails like runc when a verb gets the wrong number of arguments.
func exactArgs(c *cli.Context, n int) error {
	if c.NArg() != n {
		return argsError(c, fmt.Sprintf("requires exactly %d argument(s), got %d", n, c.NArg()))
	}
	return nil
}

// rangeArgs fails unless a verb gets between lo and hi arguments.
func rangeArgs(c *cli.Context, lo, hi int) error {
	if c.NArg() < lo || c.NArg() > hi {
		return argsError(c, fmt.Sprintf("requires %d to %d arguments, got %d", lo, hi, c.NArg()))
	}
	return nil
}

func minArgs(c *cli.Context, n int) error {
	if c.NArg() < n {
		return argsError(c, fmt.Sprintf("requires a minimum of %d argument(s)", n))
	}
	return nil
}

// argsError words a wrong argument count. urfave/cli reads flags only up to
// the first argument, so flags given after the ID arrive as arguments: say so.
func argsError(c *cli.Context, what string) error {
	name := c.Command.Name
	usage, _, _ := strings.Cut(c.Command.ArgsUsage, "\n")
	for _, a := range c.Args().Slice() {
		if len(a) > 1 && a[0] == '-' {
			return fmt.Errorf("%q %s: flags go before the arguments, and %q came after %q: mycr %s [flags] %s",
				name, what, a, c.Args().First(), name, usage)
		}
	}
	return fmt.Errorf("%q %s: see `mycr %s --help`", name, what, name)
}

// containerID returns the first argument, validated before anything touches disk.
func containerID(c *cli.Context) (string, error) {
	id := c.Args().First()
	return id, spec.ValidateID(id)
}

// absOrEmpty makes a path absolute before anything changes directory into the bundle.
func absOrEmpty(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	return filepath.Abs(p)
}
