package main

import (
	"fmt"

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
		return fmt.Errorf("%q requires exactly %d argument(s), got %d: see `mycr %s --help`", c.Command.Name, n, c.NArg(), c.Command.Name)
	}
	return nil
}

func minArgs(c *cli.Context, n int) error {
	if c.NArg() < n {
		return fmt.Errorf("%q requires a minimum of %d argument(s): see `mycr %s --help`", c.Command.Name, n, c.Command.Name)
	}
	return nil
}

// containerID returns the first argument, validated before anything touches disk.
func containerID(c *cli.Context) (string, error) {
	id := c.Args().First()
	return id, spec.ValidateID(id)
}
